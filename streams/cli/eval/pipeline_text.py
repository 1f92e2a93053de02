"""The text the pipeline reads from page images (OCR, then layout), for evaluating on images.

``pagestream train classifier --eval-ocr`` measures the classifier on what it will see in
production: each held-out page image is read by the deployment's OCR engine with its
preprocessing, laid out, and its text taken in reading order, exactly as the OCR and layout
stages do. Pages are read in the process pool, and their texts cached by everything that
determines them, since OCR takes seconds per page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from pagestream.agents.classify.classifier.cache import KeyValueCache, digest
from pagestream.agents.classify.classifier.corpus import LabelledPage
from pagestream.agents.classify.classifier.train import progress
from pagestream.agents.common.records import lines_of
from pagestream.agents.layout.core.analysis import page_text
from pagestream.agents.layout.core.page import LAYOUT_MODEL, layout_png
from pagestream.agents.ocr.core.reader import engine_spec, ocr_png
from pagestream.agents.pool import make_pool
from pagestream.streams.settings import Settings

Say = Callable[[str], None]


def read_text(png: bytes) -> str:
    """One page image's text as the pipeline reads it (in a pool process)."""
    page = ocr_png(png)
    return page_text(layout_png(png, lines_of(page), page.width, page.height))


def ocr_pages(settings: Settings, pages: Sequence[LabelledPage], say: Say) -> list[LabelledPage]:
    """The pages that have an image, with the text the pipeline reads from it instead of theirs."""
    with_image = [p for p in pages if p.image is not None]
    if not with_image:
        return []
    spec = engine_spec(settings)
    cache = KeyValueCache(settings.cache_dir / "classifier" / "ocr.sqlite")
    pngs = [p.image.read_bytes() for p in with_image if p.image]
    keys = [digest(spec.name, spec.languages, ",".join(spec.preprocess), LAYOUT_MODEL, png) for png in pngs]
    texts = {k: v.decode() for k, v in cache.get_many(keys).items()}
    todo = [i for i, k in enumerate(keys) if k not in texts]
    report = progress(say, "OCR of held-out pages")
    report(len(keys) - len(todo), len(keys))
    if todo:
        pool = make_pool(settings.pool_processes, spec)
        try:
            for n, (i, text) in enumerate(zip(todo, pool.map(read_text, [pngs[i] for i in todo]), strict=True), 1):
                texts[keys[i]] = text
                cache.put_many({keys[i]: text.encode()})
                report(len(keys) - len(todo) + n, len(keys))
        finally:
            pool.shutdown()
    cache.close()
    return [replace(p, text=texts[k], source=f"{p.source} (OCR)") for p, k in zip(with_image, keys, strict=True)]
