"""One page laid out: its image and OCR lines in, regions in reading order and its records out.

The analysis itself is ``analysis`` (geometry plus the layout model); ``layout_png`` runs in the
worker's process pool, where the model is loaded once per process, since it needs the page image.
Regions carry their kind, box, text, confidence and source, table cells and key-value pairs; the
method's name and version travel in every record so results say what produced them.
"""

from __future__ import annotations

import io
from dataclasses import asdict

import numpy as np
from PIL import Image

from pagestream.agents.common.records import now_ms
from pagestream.agents.layout.core.analysis import GEOMETRY_VERSION, Region, analyse_page, page_text
from pagestream.agents.layout.core.model import MODEL_NAME, process_model
from pagestream.streams.records import PageLayout

LAYOUT_MODEL = f"{GEOMETRY_VERSION}+{MODEL_NAME}"


def layout_png(png: bytes, lines: list[dict], width: int, height: int, orientation: int = 0) -> list[Region]:
    """Lay out one page in a pool process (the model is loaded there once). ``orientation`` is
    how far OCR turned the page clockwise before reading: the image is turned alike, so that it
    matches the boxes."""
    with Image.open(io.BytesIO(png)) as image:
        grey = np.ascontiguousarray(np.rot90(np.asarray(image.convert("L")), k=-(orientation // 90)))
    if grey.shape[:2] != (height, width):  # boxes are in the OCR image's pixels
        grey = np.asarray(Image.fromarray(grey).resize((width, height)))
    return analyse_page(lines, width, height, grey, process_model().detect(grey))


def region_record(region: Region) -> dict:
    """A region as the PageLayout Region record (and in the stored page result)."""
    return asdict(region) | {"bbox": list(region.bbox)}


def page_result(page: dict, regions: list[Region]) -> dict:
    """The full page result stored beside the page image (claim check for assembly and readers)."""
    return {
        "doc_id": page["doc_id"],
        "page_no": page["page_no"],
        "width": page["width"],
        "height": page["height"],
        "image_uri": page["image_uri"],
        "text_source": page["text_source"],
        "engine": page["engine"],
        "engine_version": page["engine_version"],
        "model": page["model"],
        "layout_model": LAYOUT_MODEL,
        "mean_confidence": page["mean_confidence"],
        "text": page_text(regions),
        "regions": [region_record(r) for r in regions],
        "lines": page["lines"],
    }


def layout_record(
    page: dict, regions: list[Region], result_uri: str | None, error: BaseException | None = None
) -> dict:
    """The PageLayout event of a page (FAILED when its OCR failed or layout gave up on it)."""
    failed = error is not None or page["status"] != "OK"
    return PageLayout(
        doc_id=page["doc_id"],
        tenant=page["tenant"],
        page_no=page["page_no"],
        page_count=page["page_count"],
        status="FAILED" if failed else "OK",
        text_source=page["text_source"],
        engine=page["engine"],
        engine_version=page["engine_version"],
        layout_model=LAYOUT_MODEL,
        regions=[region_record(r) for r in regions],
        text=page_text(regions),
        word_count=sum(len(ln["words"]) for ln in page["lines"]),
        mean_confidence=page["mean_confidence"],
        result_uri=result_uri,
        error_code=getattr(error, "code", "internal_error") if error else page.get("error_code"),
        error_message=(str(error) or type(error).__name__) if error else page.get("error_message"),
        produced_at=now_ms(),
    ).to_dict()
