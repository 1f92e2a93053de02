"""Short chaos run for CI: workers killed with SIGKILL and a broker restart while documents flow.

The long run is `pagestream chaos --docs 100 --kills 20 --json` (README).
"""

from __future__ import annotations

import pytest

from pagestream.streams.chaos import run_chaos
from tests.conftest import REPO

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(1200)]


def test_nothing_lost_or_duplicated_under_kills_and_a_broker_restart(stack) -> None:
    report = run_chaos(stack, sorted((REPO / "samples").glob("*.pdf")), docs=8, kills=2, workers=2, seed=7,
                       timeout=600)
    assert report.documents_completed == report.documents_submitted == 8, report
    assert (report.lost, report.duplicated, report.pages_missing) == (0, 0, 0), report
    assert [f.kind for f in report.faults].count("kill_worker") >= 1
    assert all(f.recovery_s is not None and f.recovery_s < 120 for f in report.faults), report.faults
