"""Avro schemas of every event (``avro/*.avsc``), shipped with the package."""

from importlib.resources import files
from importlib.resources.abc import Traversable


def avro_dir() -> Traversable:
    """Where the ``.avsc`` files live, installed or in a checkout."""
    return files(__name__) / "avro"
