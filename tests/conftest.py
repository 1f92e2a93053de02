"""Shared test helpers: where the evaluation data lives, and small documents made on the fly."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
EVALDATA = Path(__file__).resolve().parents[2] / "shared" / "evaldata"


def evaldata_doc(doc_id: str) -> tuple[Path, dict]:
    """A synthetic evaluation document: its PDF and its ground truth."""
    folder = EVALDATA / "synthetic" / doc_id
    if not folder.is_dir():
        pytest.skip(f"evaluation data not found at {folder}")
    return folder / f"{doc_id}.pdf", json.loads((folder / "gt.json").read_text())


def text_image(lines: list[str], size: tuple[int, int] = (1200, 400), fmt: str = "PNG") -> bytes:
    """An image with the given lines of text, for OCR and ingest tests."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 36)
    except OSError:
        font = ImageFont.load_default(size=36)
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * 60), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format=fmt, dpi=(200, 200))
    return out.getvalue()


def process_rss_bytes() -> int:
    """Resident memory of this process (chDB and the bridges under test run in it)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


@pytest.fixture(scope="session")
def chdb_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state dir whose embedded chDB (``<dir>/clickhouse``) every in-process test shares: chDB
    lets a process use one data directory at a time, so tests keep apart by database name."""
    return tmp_path_factory.mktemp("chdb-state")


# --- the real local stack (integration and end-to-end tests) -------------------------------------

# Test ports; PAGESTREAM_TEST_PORT_OFFSET moves them all, so several checkouts can test at once.
_OFFSET = int(os.environ.get("PAGESTREAM_TEST_PORT_OFFSET", "0"))
TEST_PORTS = {
    "PAGESTREAM_KAFKA_PORT": str(19092 + _OFFSET),
    "PAGESTREAM_KAFKA_CONTROLLER_PORT": str(19093 + _OFFSET),
    "PAGESTREAM_REGISTRY_PORT": str(18081 + _OFFSET),
    "PAGESTREAM_S3_PORT": str(19000 + _OFFSET),
    "PAGESTREAM_BRIDGE_PORT": str(18000 + _OFFSET),
    "PAGESTREAM_METRICS_PORT": str(18050 + _OFFSET),
}


# Settings of the test stack: short retry delays, and the tenants whose messages fail on purpose
# (tests/integration/test_retry.py).
TEST_SETTINGS = {
    "PAGESTREAM_RETRY_BACKOFF_SECONDS": "0.5,1,2",
    "PAGESTREAM_FAULTS": json.dumps(
        {"OCR:fault-twice": 2, "OCR:fault-always": 99, "INGEST:fault-once": 1, "ASSEMBLE:fault-assembly": 1}
    ),
}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    """Kafka, schema registry, MinIO and one worker on test ports, started once per session
    by the same code as ``pagestream up`` and stopped at the end."""
    from pagestream.streams.cli.stack import cmd_down, cmd_up
    from pagestream.streams.settings import Settings

    state = tmp_path_factory.mktemp("pagestream-state")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {**TEST_PORTS, **TEST_SETTINGS, "PAGESTREAM_STATE_DIR": str(state)}.items():
            mp.setenv(name, value)
        settings = Settings()
        try:
            cmd_up(settings, workers=1, quiet=True)
            yield settings
        finally:
            cmd_down(settings)


def read_topic(settings, spec, match, timeout: float = 60.0, count: int = 1) -> list[dict]:
    """Decoded records of ``spec`` (from the beginning) for which ``match(record)`` holds."""
    import time
    import uuid

    from confluent_kafka import Consumer

    from pagestream.streams.codec import Codecs, registry_client
    from pagestream.streams.errors import DecodeError

    codecs = Codecs(registry_client(settings.registry_url), [spec])
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([spec.name])
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(found) < count:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            try:
                record = codecs.decode(spec, msg.value())
            except DecodeError:
                continue  # poison messages that other tests put on the topic on purpose
            if match(record):
                found.append(record | {"_partition": msg.partition(), "_offset": msg.offset(), "_key": msg.key()})
    finally:
        consumer.close()
    return found
