"""Short chaos run for CI: workers killed with SIGKILL, a broker restart and a sink (bridge) kill
while documents flow; an SSE client follows the tenant's events throughout.

The long run is `pagestream chaos --docs 60 --kills 20 --json` (README).
"""

from __future__ import annotations

import pytest

from pagestream.streams.cli.chaos import run_chaos
from tests.conftest import REPO

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(1200)]


def test_nothing_lost_or_duplicated_under_kills_and_restarts(stack) -> None:
    report = run_chaos(stack, sorted((REPO / "samples").glob("*.pdf")), docs=8, kills=2, workers=2, seed=7,
                       timeout=600)
    assert report.documents_completed == report.documents_submitted == 8, report
    assert (report.lost, report.duplicated, report.pages_missing) == (0, 0, 0), report
    kinds = [f.kind for f in report.faults]
    assert kinds.count("kill_worker") >= 1 and "kill_sink" in kinds, kinds
    assert all(f.recovery_s is not None and f.recovery_s < 120 for f in report.faults), report.faults
    # ClickHouse, written by the sink that was killed, has one row per document and per page.
    assert report.clickhouse.documents == 8, report.clickhouse
    assert report.clickhouse.pages == report.clickhouse.pages_expected == report.pages_expected, report.clickhouse
    assert report.clickhouse.documents_with_wrong_page_rows == 0, report.clickhouse
    # The SSE client lost its connection with the bridge and resumed with Last-Event-ID: no gap, no repeat.
    assert report.sse.reconnections >= 1, report.sse
    assert report.sse.events_in_kafka > 0 and (report.sse.missing, report.sse.repeated) == (0, 0), report.sse
    assert report.ok
