"""The HTTP bridge: uploads, SSE progress streams, results, dashboard, metrics (see app.py)."""
