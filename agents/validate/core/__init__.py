"""Validation's pure core: field extraction (``extract`` and its per-type modules), normal forms
(``normalize``), MRZ parsing (``mrz``), business rules (``rules``) and the verdict (``verdict``)."""
