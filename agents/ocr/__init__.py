"""The OCR stage: pages.raw → pages.ocr. ``core`` reads page images (engines, preprocessing,
cascade) with no Kafka in sight; ``agent`` binds it to its topics."""
