"""The fixtures of the fault tests: a small disk to fill (the PostgreSQL ones are global)."""

from tests.support.small_disk import small_disk

__all__ = ["small_disk"]
