"""Shared test helpers: where the evaluation data lives, and small documents made on the fly."""

from __future__ import annotations

import io
import json
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
