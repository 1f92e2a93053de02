"""``pagestream eval``: accuracy of OCR, layout and understanding measured on labelled data."""
