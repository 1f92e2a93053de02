"""What ``pagestream submit`` is given, sorted before anything is uploaded: files and folders'
documents to send; named files it refuses (missing, unreadable, empty, too large, not a PDF or
image: ingest's own first check, ``refusal``); and files in folders that are no documents, skipped.

A bad path is reported and the others still go: one typo must not strand a batch, and a wrong
file is refused at once instead of after an upload and a trip through Kafka.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pagestream.agents.ingest.core.document import refusal


@dataclass
class Inputs:
    files: list[Path] = field(default_factory=list)  # to submit, in the order given (folders sorted)
    refused: list[str] = field(default_factory=list)  # "PATH: reason" for named paths that cannot go
    skipped: list[str] = field(default_factory=list)  # "PATH: reason" for folder entries that are no documents


def _problem(path: Path, max_bytes: int) -> tuple[str, str] | None:
    """(code, reason) why ``path`` cannot be submitted, or None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
        size = path.stat().st_size
    except OSError as exc:
        return "unreadable", exc.strerror or str(exc)
    refused = refusal(head, size, max_bytes)
    return (refused.code, refused.message) if refused else None


def sort_inputs(paths: Sequence[str], max_bytes: int) -> Inputs:
    """Named files and every file under named folders (hidden ones aside), checked locally."""
    inputs = Inputs()
    for name in paths:
        path = Path(name)
        if path.is_dir():
            entries = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            before = (len(inputs.files), len(inputs.refused))
            for entry in entries:
                problem = _problem(entry, max_bytes)
                if problem is None:
                    inputs.files.append(entry)
                elif problem[0] == "unsupported_type":
                    inputs.skipped.append(f"{entry}: {problem[1]}")
                else:
                    inputs.refused.append(f"{entry}: {problem[1]}")
            if (len(inputs.files), len(inputs.refused)) == before:
                inputs.refused.append(f"{name}: the folder holds no PDF or image")
            continue
        problem = _problem(path, max_bytes)
        if problem is None:
            inputs.files.append(path)
        else:
            inputs.refused.append(f"{name}: {problem[1]}")
    return inputs
