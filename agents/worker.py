"""One worker: the Faust app with every stage's agent bound to it, and their shared context.

The only place that knows all six stages: it builds the stage context (codecs, object store,
process pool) and registers ingest, OCR, layout, classify, assembly and validation, plus the
retry agent that re-delivers failed messages to them when due.
"""

from __future__ import annotations

import faust

from pagestream.agents.assemble import agent as assemble
from pagestream.agents.classify import agent as classify
from pagestream.agents.ingest import agent as ingest
from pagestream.agents.layout import agent as layout
from pagestream.agents.ocr import agent as ocr
from pagestream.agents.ocr.core.reader import engine_spec
from pagestream.agents.pool import make_pool
from pagestream.agents.runtime import retry
from pagestream.agents.runtime.context import StageContext
from pagestream.agents.validate import agent as validate
from pagestream.connectors.objectstore import ObjectStore
from pagestream.streams import topics
from pagestream.streams.app import create_app
from pagestream.streams.codec import Codecs, registry_client
from pagestream.streams.settings import Settings


def create_worker(settings: Settings, worker_id: int = 0) -> tuple[faust.App, StageContext]:
    """A Faust app with the ingest, OCR, layout, classify, assembly and validation agents, and their
    shared context."""
    app = create_app(settings, worker_id)
    ctx = StageContext(
        app,
        settings,
        codecs=Codecs(registry_client(settings.registry_url), topics.ALL_TOPICS),
        store=ObjectStore(settings),
        cpu=make_pool(settings.pool_processes, engine_spec(settings), settings.ocr_malloc_tuning),
    )
    for stage in (ingest, ocr, layout, classify, assemble, validate):
        stage.register(app, ctx)
    retry.register(app, ctx)  # re-delivers failed messages to these stages when due
    return app, ctx
