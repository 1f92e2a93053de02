"""Ingest's pure core: file checks and rendering (``document``), PDF text layers (``textlayer``)
and the duplicate-submission rule (``admission``)."""
