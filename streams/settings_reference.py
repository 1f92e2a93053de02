"""The configuration reference (docs/configuration.md), generated from the settings class.

Written by hand, the reference drifted from the code (variables missing, defaults out of date);
generated, it cannot: a unit test regenerates it and fails when the committed page differs.
Regenerate after changing a setting with

    python -m pagestream.streams.settings_reference > docs/configuration.md

The page has one section per settings group (``Settings``' base classes, in their order): the
group's docstring, then one row per field with its variable, type, default and description.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from pagestream.streams.settings import Settings

COMMAND = "python -m pagestream.streams.settings_reference > docs/configuration.md"

_INTRO = f"""\
# Configuration

<!-- Generated from streams/settings.py by `{COMMAND}`: do not edit by hand. -->

Every process of pagestream reads one typed settings object (`pagestream.streams.settings.Settings`)
from `PAGESTREAM_*` environment variables when it starts. The defaults describe the local stack
that `pagestream up` starts on 127.0.0.1, so a new user needs to set nothing. Values are parsed by
type: numbers, `true`/`false`, and JSON for maps. Settings are immutable once loaded.

This page is generated from the settings class, so it lists every variable the code reads; a unit
test fails when it is out of date. The scripts in `ops/` (`kafka.sh`, `registry.sh`, `minio.sh`)
also read a few variables of their own (caches, heap sizes, start and stop timeouts), listed in
each script's header.
"""


def groups() -> list[type[BaseModel]]:
    """The settings groups, in the order ``Settings`` inherits them."""
    return [base for base in Settings.__bases__ if issubclass(base, BaseModel) and base is not BaseSettings]


def env_name(name: str, field: FieldInfo) -> str:
    """The variable a field is read from: its alias, else the prefix and the upper-case name."""
    return field.alias or f"{Settings.model_config['env_prefix']}{name.upper()}"


def type_name(annotation: Any) -> str:
    """A field's type as a reader sets it in the environment."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " or ".join(f"`{arg}`" for arg in args)
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(arg) for arg in args if arg is not type(None)) + ", optional"
    if origin is dict:
        return "JSON object"
    if origin is list:
        return "JSON list"
    if annotation is Path:
        return "path"
    return annotation.__name__


def default_text(field: FieldInfo) -> str:
    """A field's default as it would be written in the environment; computed ones as documented."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "shown_default" in extra:
        return str(extra["shown_default"])
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict | list):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section(group: type[BaseModel]) -> str:
    doc = " ".join((group.__doc__ or "").strip().split("\n\n")[0].split())
    title, _, description = doc.partition(": ")
    if not description:
        raise ValueError(f"{group.__name__}'s docstring must start 'Title: what the group configures'")
    rows = [
        f"| `{env_name(name, field)}` | {_cell(type_name(field.annotation))} | {_cell(default_text(field))} "
        f"| {_cell(field.description or '')} |"
        for name, field in group.model_fields.items()
    ]
    table = "\n".join(["| variable | type | default | description |", "|---|---|---|---|", *rows])
    return f"## {title} (`{group.__name__}`)\n\n{description[0].upper()}{description[1:]}\n\n{table}\n"


def render() -> str:
    """The whole page; every field of ``Settings`` must belong to a group and have a description."""
    grouped = [name for group in groups() for name in group.model_fields]
    stray = set(Settings.model_fields) - set(grouped)
    undocumented = [name for group in groups() for name, f in group.model_fields.items() if not f.description]
    if stray or undocumented:
        raise ValueError(f"settings outside a group: {sorted(stray)}; without a description: {undocumented}")
    return "\n".join([_INTRO, *(_section(group) for group in groups())])


if __name__ == "__main__":
    print(render(), end="")
