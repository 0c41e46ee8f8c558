"""The throughput benchmark (``python -m bench throughput``); see README.md here."""
