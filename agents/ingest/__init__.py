"""The ingest stage: docs.submitted → pages.raw. ``core`` checks and rasterises files and holds the
duplicate-submission rule, with no Kafka in sight; ``agent`` binds it to its topics."""
