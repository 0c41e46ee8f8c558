"""The optional parts of spendcast, and the modules that tell whether each is installed.

Plain ``pip install spendcast`` serves and trains. ``spendcast[loadtest]`` adds the kit and
``spendcast[postgres]`` the PostgreSQL driver (the names of pyproject.toml's extras). Code that
needs an extra imports its modules only where it runs: without the extra, that import raises
``ModuleNotFoundError`` naming one of the modules below, which the edges (the CLI, the database
URL check) turn into one line saying what to install. Imports nothing of its own.
"""

from __future__ import annotations

import importlib.util
from typing import Final

# extra -> the top-level modules it installs that spendcast imports (or runs, for Locust).
EXTRAS: Final[dict[str, tuple[str, ...]]] = {
    "loadtest": ("locust", "gevent", "hdrh", "matplotlib", "scipy"),
    "postgres": ("psycopg",),
}
_EXTRA_OF: Final = {module: extra for extra, modules in EXTRAS.items() for module in modules}


def extra_providing(module: str | None) -> str | None:
    """The extra that installs ``module`` (a dotted name is reduced to its top level)."""
    if not module:
        return None
    return _EXTRA_OF.get(module.partition(".")[0])


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that are not installed (found without importing them)."""
    return [module for module in EXTRAS[extra] if importlib.util.find_spec(module) is None]


def install_hint(extra: str) -> str:
    return f"pip install 'spendcast[{extra}]'"
