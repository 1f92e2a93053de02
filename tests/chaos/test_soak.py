"""Short soak for CI: worker memory stays flat while small documents flow.

The long run is `pagestream soak --pages 3000 --json` (README).
"""

from __future__ import annotations

import pytest

from pagestream.streams.cli.soak import run_soak
from tests.conftest import REPO

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]


def test_worker_memory_is_flat(stack) -> None:
    report = run_soak(stack, (REPO / "samples" / "soak-page.png").read_bytes(), pages=120, interval_s=0.5)
    assert report.documents == 120
    assert len(report.samples) >= 6 and report.rss_early_mb > 100  # the worker and its pool were measured
    assert report.growth_pct <= 10, report.samples
