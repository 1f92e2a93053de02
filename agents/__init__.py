"""Pipeline stages, one package each (ingest, ocr, layout, classify, assemble, validate): a pure
core (``<stage>.core``, no Kafka) and a thin Faust agent (``<stage>.agent``) binding it to its
topics. ``common`` holds what stages share, ``runtime`` what their agents share, ``worker`` binds
them all to one Faust app and ``pool`` runs their CPU work in processes."""
