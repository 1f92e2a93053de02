"""Page image clean-up before OCR, with OpenCV; each step switchable (``PAGESTREAM_OCR_PREPROCESS``).

Steps run in a fixed order whatever order they are named in: ``orient`` (turn every page lying
at 90/180/270 degrees upright before reading, Tesseract's orientation detector; without it, only
a page whose first read looks turned is checked and read again, ``upright_reread``), ``deskew`` (straighten a slightly
rotated scan, projection profiles), ``clahe`` (local contrast), ``denoise`` (speckles and JPEG
noise) and ``binarize`` (adaptive threshold). docs/benchmarks.md gives what each one does to
recall and speed on the noisy synthetic pages; only the steps that measured better are on by
default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pagestream.agents.common.ocr_result import OcrPage
from pagestream.streams.errors import PageFailed

Read = Callable[[Image.Image], OcrPage]

STEPS = ("orient", "deskew", "clahe", "denoise", "binarize")
_MAX_SKEW = 6.0  # degrees searched either way
_MIN_SKEW = 0.25  # below this a rotation costs more sharpness than it gains
_ORIENT_MIN_CONFIDENCE = 2.0  # Tesseract's orientation confidence below which the page stays as it is
_DOUBTFUL_CONFIDENCE = 0.75  # a first read below this mean word confidence may be of a turned page
_TALL_SHARE = 0.5  # or when more than this share of its words (3+ letters) are boxed taller than wide
_KEEP_MARGIN = 0.05  # the upright re-read is kept unless its confidence is lower by more than this
_ANALYSIS_WIDTH = 1000  # pixels: skew is judged on a reduced copy
_MAX_POINTS = 40_000  # ink pixels sampled for the skew search


@dataclass
class Prepared:
    image: Image.Image
    orientation: int = 0  # clockwise degrees the page was turned
    skew: float = 0.0  # degrees of skew removed


def check_steps(steps: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The steps in run order; a clear error names the unknown ones and the accepted ones."""
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise PageFailed(
            f"unknown preprocessing step(s) {', '.join(unknown)}; accepted: {', '.join(STEPS)}", code="bad_config"
        )
    return tuple(s for s in STEPS if s in steps)


def _reduced(gray: np.ndarray) -> np.ndarray:
    scale = min(1.0, _ANALYSIS_WIDTH / max(gray.shape[1], 1))
    if scale >= 1.0:
        return gray
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Dark pixels as 1, background as 0 (Otsu)."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return ink


def _rotate(image: np.ndarray, angle: float, fill: int = 255) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)


def _profile_score(xs: np.ndarray, ys: np.ndarray, angle: float) -> float:
    """How sharply ink rows stand out when the page is turned by ``angle`` degrees: the energy of
    the row histogram's differences (text lines give peaks with steep edges when level)."""
    theta = np.deg2rad(angle)
    rows = np.round(ys * np.cos(theta) - xs * np.sin(theta)).astype(np.int64)
    counts = np.bincount(rows - rows.min()).astype(np.float64)
    return float(np.square(np.diff(counts)).sum())


def estimate_skew(gray: np.ndarray) -> float:
    """The rotation in degrees (counter-clockwise positive, as cv2 turns) that levels the text:
    ink pixel coordinates are turned, not the image, coarse search then a fine one."""
    ys, xs = np.nonzero(_ink(_reduced(gray)))
    if len(xs) < 50:  # a blank page has no skew
        return 0.0
    if len(xs) > _MAX_POINTS:
        pick = np.random.default_rng(0).choice(len(xs), _MAX_POINTS, replace=False)
        xs, ys = xs[pick], ys[pick]
    xs, ys = xs.astype(np.float64), ys.astype(np.float64)
    coarse = max(np.arange(-_MAX_SKEW, _MAX_SKEW + 0.01, 0.5), key=lambda a: _profile_score(xs, ys, a))
    fine = max(np.arange(coarse - 0.5, coarse + 0.51, 0.1), key=lambda a: _profile_score(xs, ys, a))
    return round(float(fine), 2)


def deskew(gray: np.ndarray) -> tuple[np.ndarray, float]:
    angle = estimate_skew(gray)
    if abs(angle) < _MIN_SKEW:
        return gray, 0.0
    return _rotate(gray, angle), angle


# Tesseract's orientation and script detector, loaded once per pool process when first needed.
_osd: dict[Path, object] = {}


def detect_orientation(gray: np.ndarray, tessdata: Path | None) -> int:
    """Clockwise degrees (0, 90, 180, 270) that turn the page upright; 0 when unsure."""
    import tesserocr

    if tessdata is None or not (tessdata / "osd.traineddata").is_file():
        raise PageFailed(
            f"page orientation needs Tesseract's osd.traineddata (Debian: tesseract-ocr-osd) in {tessdata}",
            code="engine_unavailable",
        )
    if tessdata not in _osd:
        _osd[tessdata] = tesserocr.PyTessBaseAPI(path=str(tessdata) + "/", lang="osd", psm=tesserocr.PSM.OSD_ONLY)
    api = _osd[tessdata]
    api.SetImage(Image.fromarray(_reduced_for_osd(gray)))
    try:
        found = api.DetectOrientationScript()
    except RuntimeError:  # too little text to tell
        return 0
    finally:
        api.Clear()
    if not found or found.get("orient_conf", 0.0) < _ORIENT_MIN_CONFIDENCE:
        return 0
    if found.get("script_name") != "Latin":  # photos and stamps read as other scripts: not text we read
        return 0
    # Tesseract reports the text turned by orient_deg clockwise; turning it back is the rest.
    return (360 - int(found["orient_deg"])) % 360


def _reduced_for_osd(gray: np.ndarray) -> np.ndarray:
    longest = max(gray.shape)
    if longest <= 2000:
        return gray
    scale = 2000 / longest
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


_TURN = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def orient(gray: np.ndarray, tessdata: Path | None) -> tuple[np.ndarray, int]:
    degrees = detect_orientation(gray, tessdata)
    return (cv2.rotate(gray, _TURN[degrees]) if degrees else gray), degrees


def looks_turned(page: OcrPage) -> bool:
    """The cheap check after a first read, so that upright pages (nearly all) never pay for the
    orientation detector: a page lying on its side gives words boxed taller than wide (Tesseract
    reads such lines, one region per word), one upside down gives low-confidence gibberish."""
    long = [w for w in page.words if len(w.text) >= 3]
    if not long:
        return False
    tall = sum(1 for w in long if w.bbox[3] - w.bbox[1] > w.bbox[2] - w.bbox[0])
    return page.mean_confidence < _DOUBTFUL_CONFIDENCE or tall > _TALL_SHARE * len(long)


def upright_reread(image: Image.Image, page: OcrPage, tessdata: Path | None, read: Read) -> OcrPage:
    """A page whose first read looks turned, read again upright when Tesseract's orientation
    detector finds it turned; the re-read is kept unless it reads clearly worse, so a wrong
    detection costs time, never text. Without the detector's data the first read stands."""
    if tessdata is None or not (tessdata / "osd.traineddata").is_file():
        return page
    gray, degrees = orient(np.asarray(image.convert("L")), tessdata)
    if not degrees:
        return page
    again = read(Image.fromarray(np.ascontiguousarray(gray)))
    if again.mean_confidence < page.mean_confidence - _KEEP_MARGIN:
        return page
    return replace(again, orientation=degrees)


def clahe(gray: np.ndarray) -> np.ndarray:
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(gray)


def denoise(gray: np.ndarray) -> np.ndarray:
    return cv2.medianBlur(gray, 3)


def binarize(gray: np.ndarray) -> np.ndarray:
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 15)


def prepare(image: Image.Image, steps: tuple[str, ...], tessdata: Path | None = None) -> Prepared:
    """Run the named steps (in run order) on a page image; no steps returns the image unchanged."""
    steps = check_steps(steps)
    if not steps:
        return Prepared(image)
    gray = np.asarray(image.convert("L"))
    result = Prepared(image)
    if "orient" in steps:
        gray, result.orientation = orient(gray, tessdata)
    if "deskew" in steps:
        gray, result.skew = deskew(gray)
    if "clahe" in steps:
        gray = clahe(gray)
    if "denoise" in steps:
        gray = denoise(gray)
    if "binarize" in steps:
        gray = binarize(gray)
    result.image = Image.fromarray(np.ascontiguousarray(gray))
    return result
