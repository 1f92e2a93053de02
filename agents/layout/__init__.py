"""The layout stage: pages.ocr → pages.layout. ``core`` finds regions, tables and reading order
from a page's OCR lines and image, with no Kafka in sight; ``agent`` binds it to its topics."""
