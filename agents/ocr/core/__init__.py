"""OCR's pure core: a page image in, lines and words with boxes and confidences out (``reader``),
through the configured preprocessing (``preprocess``) and engines (``engines``)."""
