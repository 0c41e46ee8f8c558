"""The HTTP API: ``create_app`` (app.py) assembles routes, auth, errors, logs and metrics."""
