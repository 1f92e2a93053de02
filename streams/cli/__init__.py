"""The ``pagestream`` command and the drills it runs (bench, chaos, soak, eval, replay, dlq): the
top layer, which may use everything below it and which nothing below imports."""

from pagestream.streams.cli.main import main

__all__ = ["main"]
