"""Reading a page image in a pool process: the engines built once, the page prepared, then read.

Engines sit behind one small interface (``agents.common.ocr_result.OcrEngine``; the engines
themselves in ``agents.ocr.core.engines``). A pool process builds each engine it is asked for
once and reuses it for every page (``agents.pool``); before reading, the page goes through the
configured OpenCV preprocessing (``agents.ocr.core.preprocess``); a page whose first read looks
turned is read again upright, so rotated scans need no setting.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import replace

from PIL import Image

from pagestream.agents.common.ocr_result import EngineSpec, OcrPage
from pagestream.agents.ocr.core.engines import EngineCache
from pagestream.agents.ocr.core.preprocess import looks_turned, prepare, upright_reread
from pagestream.streams.errors import PageFailed
from pagestream.streams.settings import Settings


def engine_spec(settings: Settings) -> EngineSpec:
    """What pool processes need from the settings to build engines and prepare pages."""
    return EngineSpec(
        name=settings.ocr_engine,
        languages=settings.ocr_languages,
        tessdata=settings.tessdata,
        model_dir=settings.ocr_model_dir,
        preprocess=settings.ocr_preprocess_steps,
        cascade_line_confidence=settings.ocr_cascade_line_confidence,
        cascade_page_fraction=settings.ocr_cascade_page_fraction,
    )


# This pool process's engines, built on first use and reused for every page it reads.
_cache: list[EngineCache] = []


def init_process(spec: EngineSpec) -> None:
    """Pool-process initializer: pin every library to one thread, load the default engine."""
    for var in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import cv2

    cv2.setNumThreads(1)
    _cache[:] = [EngineCache(spec)]
    # An engine that cannot load is reported with the first page that needs it, as a page error.
    with contextlib.suppress(PageFailed):
        _cache[0].get(spec.name)


def read_image(image: Image.Image, engine: str | None = None) -> OcrPage:
    """Prepare and read one page image in a pool process (default engine: the deployment's)."""
    if not _cache:
        raise PageFailed("OCR runs in pool processes started by agents.pool.make_pool", code="internal_error")
    spec = _cache[0].spec
    prepared = prepare(image, spec.preprocess, spec.tessdata)
    recognize = _cache[0].get(engine or spec.name).recognize
    page = replace(recognize(prepared.image), orientation=prepared.orientation)
    if "orient" not in spec.preprocess and looks_turned(page):
        page = upright_reread(prepared.image, page, spec.tessdata, recognize)
    return replace(page, skew=prepared.skew)


def ocr_png(png: bytes, engine: str | None = None) -> OcrPage:
    """Read one page image given as PNG (or any Pillow format) bytes."""
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return read_image(image, engine)
