"""The ``pagestream`` command and the drills it runs (bench, chaos, soak, eval, replay, dlq): the
top layer, which may use everything below it and which nothing below imports."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The ``pagestream`` script's entry point. The commands are imported only when it runs: pool
    processes that import a drill's module (``cli.eval``) then load no CLI, Kafka client or Faust."""
    from pagestream.streams.cli.main import main as run

    return run(argv)
