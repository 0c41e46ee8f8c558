"""A Locust ``Environment`` with the kit's side attached, as Locust's ``main`` builds one."""

from __future__ import annotations

from typing import Any

from locust import User
from locust.argument_parser import get_empty_argument_parser, setup_parser_arguments
from locust.env import Environment
from locust.event import Events

from spendcast.loadtest.locust.side import LocustSide


def environment_with(
    side: LocustSide, user_classes: list[type[User]], *args: str, host: str = ""
) -> Environment:
    """Fresh events with ``side`` listening first (as the locustfiles are imported first), the
    options Locust parses from ``args`` (the kit's too, and no locust.conf), an environment."""
    events = Events()  # type: ignore[no-untyped-call]
    side.listen(events)
    parser = get_empty_argument_parser(add_help=False, default_config_files=[])
    setup_parser_arguments(parser)  # type: ignore[no-untyped-call]
    hooks: Any = events  # EventHook.fire is untyped
    hooks.init_command_line_parser.fire(parser=parser)
    options = parser.parse_args(list(args))
    return Environment(user_classes=user_classes, events=events, parsed_options=options, host=host)


def init(environment: Environment) -> None:
    """Fire ``init`` as Locust's ``main`` does once its runner exists."""
    events: Any = environment.events
    events.init.fire(environment=environment, runner=environment.runner, web_ui=None)


def quit_locust(environment: Environment) -> None:
    """Stop the test and quit as Locust's ``main`` does at the end of a headless run."""
    assert environment.runner is not None
    environment.runner.quit()
    events: Any = environment.events
    events.quitting.fire(environment=environment, reverse=True)
