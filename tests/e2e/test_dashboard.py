"""The live dashboard in headless Chromium (Debian's chromium and chromium-driver, driven by
selenium): real documents go through the pipeline while the page is open, and the page must show
them: counts, the latest documents, latency per stage, lag, and a drill-down to a page image with
its OCR word boxes and layout regions. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import shutil

import httpx
import pytest

from tests.bridge_client import upload, wait_for_result
from tests.conftest import REPO

pytestmark = pytest.mark.kafka

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,2000",
)
ARTIFACTS = REPO / "test-artifacts"
DOC_TYPES = (
    "SELECT doc_type, count() AS documents FROM documents FINAL WHERE doc_type IS NOT NULL "
    "GROUP BY doc_type ORDER BY documents DESC"
)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail(
            "chromium and chromedriver are needed (Debian packages chromium, chromium-driver: ops/bootstrap.sh)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (*CHROMIUM_ARGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()


def test_dashboard_shows_documents_as_they_flow(stack, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def text(css: str) -> str:
        """Text of an element, read in one go (the page re-renders its tables as events arrive)."""
        return browser.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : null", css
        )

    wait = WebDriverWait(browser, 300, poll_frequency=0.5)
    browser.get(f"{stack.bridge_url}/dashboard")
    wait.until(lambda b: b.find_element(By.ID, "connection").get_attribute("data-state") == "live")

    submitted = [upload(stack, REPO / "samples" / name, tenant="dashboard") for name in ("invoice.pdf", "letter.pdf")]
    results = [wait_for_result(stack, s["doc_id"]) for s in submitted]
    pages = sum(r["page_count"] for r in results)

    # The latest documents list shows both, completed, with their page counts.
    for result in results:
        row = f'#latest tr[data-doc-id="{result["doc_id"]}"]'
        wait.until(lambda b, row=row: text(f"{row} .status") == "OK")
        assert text(f"{row} td:first-child") == result["filename"]
        assert f"{result['page_count']}/{result['page_count']}" in text(row)
    # Counts since the page was opened: exactly these documents and their pages.
    wait.until(lambda b: text("#docs-completed") == "2" and text("#pages-live") == str(pages))
    assert text("#docs-ok") == "2" and text("#docs-failed") == "0"
    # Per-stage latency rows, and a measured consumer lag.
    stages_js = "return [...document.querySelectorAll('#latency tbody tr td:first-child')].map(td => td.innerText)"
    wait.until(lambda b: {"INGEST", "OCR", "LAYOUT"} <= set(b.execute_script(stages_js)))
    wait.until(lambda b: text("#lag-total").isdigit())
    # ClickHouse (the sink in the bridge) answers the dashboard's SQL: totals and latency.
    wait.until(lambda b: text("#latency-source") == "ClickHouse, last hour")
    wait.until(lambda b: text("#sql-docs").isdigit() and int(text("#sql-docs")) >= 2)
    # Document types and the review queue show what ClickHouse has, or say that there is nothing.
    # Both sides are read on every poll: the sink may still be writing rows (these documents' types,
    # or late ones from earlier tests) between one read and the dashboard's next refresh.
    rows_js = (
        "return [...document.querySelectorAll(arguments[0] + ' tbody tr')].map(r => [...r.cells].map(c => c.innerText))"
    )

    def doc_types() -> list[list[str]]:
        rows = httpx.post(f"{stack.bridge_url}/v1/sql", json={"query": DOC_TYPES}).json()["rows"]
        return sorted([t, str(n)] for t, n in rows)

    slow_wait = WebDriverWait(browser, 300, poll_frequency=2)
    slow_wait.until(lambda b: sorted(b.execute_script(rows_js, "#doc-types")) == doc_types())
    types = doc_types()
    assert browser.find_element(By.ID, "doc-types-empty").is_displayed() == (not types)
    review = browser.find_element(By.ID, "review-empty")
    assert review.is_displayed() != bool(browser.execute_script(rows_js, "#review"))

    # Drill down into the invoice: page image with its word boxes and regions drawn over it.
    invoice = results[0]
    browser.find_element(By.CSS_SELECTOR, f'#latest tr[data-doc-id="{invoice["doc_id"]}"]').click()
    wait.until(
        lambda b: b.execute_script(
            "const i = document.getElementById('page-image'); return i.complete && i.naturalWidth > 0"
        )
    )
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    page = httpx.get(f"{stack.bridge_url}/v1/documents/{invoice['doc_id']}/pages/1").json()
    words = sum(len(line["words"]) for line in page["lines"])
    drawn = browser.execute_script("return document.querySelectorAll('#page-overlay rect.word').length")
    regions = browser.execute_script("return document.querySelectorAll('#page-overlay rect.region').length")
    assert drawn == words > 20 and regions == len(page["regions"]) > 0
    size = browser.execute_script(
        "const i = document.getElementById('page-image'), s = document.getElementById('page-overlay');"
        "const a = i.getBoundingClientRect(), b = s.getBoundingClientRect();"
        "return [i.naturalWidth, i.naturalHeight, a.width, a.height, b.width, b.height];"
    )
    assert size[:2] == [page["width"], page["height"]]
    assert all(abs(a - b) < 1 for a, b in zip(size[2:4], size[4:6], strict=True))  # the overlay covers the image
    assert "words" in text("#dd-info")
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
