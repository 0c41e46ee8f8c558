"""Locustfiles that spendcast hands to Locust (each run by path, not imported)."""
