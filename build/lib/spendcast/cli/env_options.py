"""An option declared once: its env var and the ``Env: NAME.`` end of its help, derived.

``EnvOptions("loadtest")("--max-step-time", help=...)`` reads
``SPENDCAST_LOADTEST_MAX_STEP_TIME``, its help ending with
``Env: SPENDCAST_LOADTEST_MAX_STEP_TIME.``; ``EnvOptions()`` gives the settings' own names
(``--model-dir``: ``SPENDCAST_MODEL_DIR``). It imports nothing of the load-test kit, so that
``serve`` and ``train`` declare their options without loading it; the options the kit's
commands share are ``options.Options``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
ENV_PREFIX = "SPENDCAST"


class EnvOptions:
    """Option declarations of one command (``None``: the settings' ``SPENDCAST_*`` names)."""

    def __init__(self, command: str | None = None) -> None:
        self.prefix = ENV_PREFIX if command is None else f"{ENV_PREFIX}_{command.upper()}"

    def envvar(self, long_name: str) -> str:
        return f"{self.prefix}_{long_name.removeprefix('--').replace('-', '_').upper()}"

    def __call__(
        self, *decls: str, help: str, env: str | None = None, env_note: str = "", **attrs: Any
    ) -> Callable[[F], F]:
        """``click.option`` with ``envvar`` from the long name (or ``env``) and the help's
        ``Env: NAME<env_note>.`` suffix."""
        name = env or self.envvar(next(d for d in decls if d.startswith("--")))
        option: Callable[[F], F] = click.option(
            *decls, envvar=name, help=f"{help} Env: {name}{env_note}.", **attrs
        )
        return option

    def model_dir(self, help: str) -> Callable[[F], F]:
        return self("--model-dir", type=click.Path(file_okay=False, path_type=Path), help=help)
