"""The throughput benchmark (``python bench/throughput.py``); see README.md here."""
