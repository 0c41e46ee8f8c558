"""The Locust options the kit adds (``contract``'s ``--spendcast-*``), kept out of the web form."""

from __future__ import annotations

from typing import Any

from spendcast.loadtest.shared.contract import (
    DUMP_ENV,
    DUMP_OPTION,
    LOAD_PLAN_OPTION,
    OUT_OPTION,
    RUN_TIME_OPTION,
    THINK_TIME_OPTION,
    WARMUP_OPTION,
)


def add_options(parser: Any, **_: Any) -> None:
    """``events.init_command_line_parser``'s listener."""
    parser.add_argument(
        OUT_OPTION,
        default="",
        include_in_web_ui=False,  # the kit's plumbing, not a field of the web form
        help="Directory where spendcast writes its recording and progress",
    )
    parser.add_argument(
        DUMP_OPTION,
        default="",
        env_var=DUMP_ENV,  # so that the workers --processes forks dump too
        include_in_web_ui=False,
        help="Worker: directory where it also writes all it recorded",
    )
    parser.add_argument(THINK_TIME_OPTION, default="", include_in_web_ui=False,
                        help="Pause of each user, sent by the master to workers")  # fmt: skip
    parser.add_argument(LOAD_PLAN_OPTION, default="", include_in_web_ui=False,
                        help="The load plan's shape: its JSON")  # fmt: skip
    parser.add_argument(RUN_TIME_OPTION, type=float, default=0.0, include_in_web_ui=False,
                        help="Stop the file's own load shape after S s")  # fmt: skip
    parser.add_argument(WARMUP_OPTION, type=float, default=0.0, include_in_web_ui=False,
                        help="Leave the first S s out of the figures")  # fmt: skip
