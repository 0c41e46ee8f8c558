"""``python -m spendcast.loadtest.locust.probe``: load a locustfile as Locust does; its users.

Run by the CLI side (``run.locustfile``) in a short-lived process before a run, so that the CLI
process never imports Locust and a bad file is refused before anything starts. It runs in the
user's directory, as plain ``locust`` and the run itself do. Its one argument is JSON
``{"entries": [absolute paths], "words": [...]}``, ``words`` being what followed ``-f`` on the
user's command line that spendcast does not know: user class names and Locust's options, the
file's own ones too (``events.init_command_line_parser``). It answers one JSON line on stdout
(whatever the file prints goes to stderr), declared in ``shared/probe_answer``:

- ``ProbedUsers``: the ``.py`` files (a folder expanded), every concrete user class, the ones
  that will run (those named, else ``LOCUST_USER_CLASSES``, else all, as Locust picks them),
  the load shape classes, ``words`` without the class names (handed to Locust as they are),
  what Locust's configuration sets (``locust.conf``, ``pyproject.toml``, ``--config``,
  ``LOCUST_*``, those words: ``{"num_users": 5, ...}``, by option ``dest``) and each class's
  own ``host`` attribute;
- ``ProbeRefusal``: why Locust could not run it, and where (file and line) when known.

Locust's own loader does the work (``parse_locustfile_paths``, ``merge_locustfiles_content``:
the same ``sys.path`` rules, abstract classes skipped, duplicates refused).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from spendcast.loadtest.shared.probe_answer import ProbeAnswer, ProbedUsers, ProbeRefusal


def probe(entries: list[str], words: list[str]) -> ProbeAnswer:
    from locust.argument_parser import parse_locustfile_paths
    from locust.main import merge_locustfiles_content

    files = _quietly(lambda: parse_locustfile_paths(entries))
    if isinstance(files, ProbeRefusal):
        return files
    try:
        loaded = _quietly(lambda: merge_locustfiles_content(files))
    except BaseException as error:
        return _import_error(error, files)
    if isinstance(loaded, ProbeRefusal):
        return loaded
    available, shapes = list(loaded[0]), list(loaded[1])
    if not available:
        return ProbeRefusal("no user class (a concrete subclass of locust's User, HttpUser or "
                            "FastHttpUser; abstract = True ones are skipped)")  # fmt: skip
    parsed = _quietly(lambda: _parse(files, words))
    if isinstance(parsed, ProbeRefusal):
        return parsed
    classes, args, settings = parsed
    default = [n for n in os.environ.get("LOCUST_USER_CLASSES", "").split() if n]
    chosen = classes or default or available
    unknown = [name for name in chosen if name not in available]
    if unknown:
        return ProbeRefusal(f"unknown user class {', '.join(unknown)}: the file has "
                            f"{', '.join(available)}")  # fmt: skip
    hosts = {name: getattr(loaded[0][name], "host", None) for name in chosen}
    return ProbedUsers(tuple(files), tuple(available), tuple(chosen), tuple(shapes),
                       tuple(args), settings, hosts)  # fmt: skip


def _parse(files: list[str], words: list[str]) -> tuple[list[str], list[str], dict[str, Any]]:
    """Parse ``words`` as plain ``locust`` does (its configuration files and ``LOCUST_*`` too):
    the user classes named, the other words, and what differs from Locust's bare defaults."""
    from locust.argument_parser import get_parser

    locustfile = ["-f", ",".join(files)]
    options = get_parser().parse_args([*locustfile, *words])
    bare = get_parser(default_config_files=[]).parse_args(locustfile, env_vars={})
    classes = [name for name in options.user_classes or [] if name in words]
    args = list(words)
    for name in classes:  # the class names out of the words, the options left as typed
        args.remove(name)
    again = vars(get_parser().parse_args([*locustfile, *args]))
    if {k: v for k, v in again.items() if k != "user_classes"} != {
        k: v for k, v in vars(options).items() if k != "user_classes"
    }:
        raise SystemExit(_fail("name the user classes before the options that follow -f"))
    settings = {
        dest: value
        for dest, value in vars(options).items()
        if dest not in ("locustfile", "user_classes")
        and value != getattr(bare, dest, None)
        and _plain(value)
    }
    return classes, args, settings


def _fail(message: str) -> int:
    sys.stderr.write(message + "\n")
    return 2


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _quietly(load: Any) -> Any:
    """``load()``, its prints sent to stderr; Locust's own refusal (``sys.exit``) as an error."""
    refusal = io.StringIO()
    try:
        with contextlib.redirect_stdout(sys.stderr), contextlib.redirect_stderr(refusal):
            return load()
    except SystemExit as error:
        text = refusal.getvalue().strip() or f"the file called sys.exit({error.code!r})"
        lines = text.replace(" See --help for available options.", "").splitlines()
        text = " ".join(lines[-2:]) if lines[-1].startswith("Did you mean") else lines[-1]
        text = re.sub(r"^[\w.-]+: error: ", "", text)  # argparse's "probe.py: error: "
        return ProbeRefusal(text)
    finally:
        sys.stderr.write(refusal.getvalue())


def _import_error(error: BaseException, files: list[str]) -> ProbeRefusal:
    """Where the user's code failed: the deepest frame in the locustfiles' folders."""
    folders = {str(Path(f).parent) for f in files}
    place: tuple[str | None, int | None] = (None, None)
    if isinstance(error, SyntaxError) and error.filename:
        place = (error.filename, error.lineno)
    else:
        for frame in traceback.extract_tb(error.__traceback__):
            if str(Path(frame.filename).parent) in folders:
                place = (frame.filename, frame.lineno)
    message = error.msg if isinstance(error, SyntaxError) else str(error)
    return ProbeRefusal(f"{type(error).__name__}: {message}", place[0], place[1])


def main() -> None:
    request = json.loads(sys.argv[1])
    answer = probe(list(request["entries"]), list(request["words"]))
    sys.stdout.write(json.dumps(answer.to_json()) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the user's greenlets or threads must not keep the probe alive


if __name__ == "__main__":
    main()
