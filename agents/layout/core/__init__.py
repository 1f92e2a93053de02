"""Layout's pure core: one page laid out (``page``) by geometry (``analysis``, ``tables``,
``order``) and the layout model (``model``)."""
