"""``python -m spendcast.loadtest.locust.probe``: load a locustfile as Locust does; its users.

Run by the CLI side (``run.locustfile``) in a short-lived process before a run, so that the CLI
process never imports Locust and a bad file is refused before anything starts. Its one
argument is JSON ``{"entries": [absolute paths], "classes": [names]}``; it answers one JSON line
on stdout (whatever the file prints goes to stderr):

- ``{"files": [...], "available": [...], "classes": [...], "shapes": [...]}``: the ``.py``
  files (a folder expanded), every concrete user class, the ones that will run (those named,
  else ``LOCUST_USER_CLASSES`` if the file or the environment sets it, else all, as Locust
  picks them) and the load shape classes;
- ``{"error": "...", "file": path or null, "line": n or null}``: why Locust could not run it.

Locust's own loader does the work (``parse_locustfile_paths``, ``merge_locustfiles_content``:
the same ``sys.path`` rules, abstract classes skipped, duplicates refused).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def probe(entries: list[str], classes: list[str]) -> dict[str, Any]:
    from locust.argument_parser import parse_locustfile_paths
    from locust.main import merge_locustfiles_content

    files = _quietly(lambda: parse_locustfile_paths(entries))
    if isinstance(files, dict):
        return files
    try:
        loaded = _quietly(lambda: merge_locustfiles_content(files))
    except BaseException as error:
        return _import_error(error, files)
    if isinstance(loaded, dict):
        return loaded
    available, shapes = list(loaded[0]), list(loaded[1])
    if not available:
        return _refusal("no user class (a concrete subclass of locust's User, HttpUser or "
                        "FastHttpUser; abstract = True ones are skipped)")  # fmt: skip
    default = [n for n in os.environ.get("LOCUST_USER_CLASSES", "").split() if n]
    chosen = classes or default or available
    unknown = [name for name in chosen if name not in available]
    if unknown:
        return _refusal(f"unknown user class {', '.join(unknown)}: the file has "
                        f"{', '.join(available)}")  # fmt: skip
    return {"files": files, "available": available, "classes": chosen, "shapes": shapes}


def _quietly(load: Any) -> Any:
    """``load()``, its prints sent to stderr; Locust's own refusal (``sys.exit``) as an error."""
    refusal = io.StringIO()
    try:
        with contextlib.redirect_stdout(sys.stderr), contextlib.redirect_stderr(refusal):
            return load()
    except SystemExit as error:
        text = refusal.getvalue().strip() or f"the file called sys.exit({error.code!r})"
        text = text.replace(" See --help for available options.", "").splitlines()[-1]
        return _refusal(text)
    finally:
        sys.stderr.write(refusal.getvalue())


def _refusal(error: str) -> dict[str, Any]:
    return {"error": error, "file": None, "line": None}


def _import_error(error: BaseException, files: list[str]) -> dict[str, Any]:
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
    return {"error": f"{type(error).__name__}: {message}", "file": place[0], "line": place[1]}


def main() -> None:
    request = json.loads(sys.argv[1])
    answer = probe(list(request["entries"]), list(request["classes"]))
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the user's greenlets or threads must not keep the probe alive


if __name__ == "__main__":
    main()
