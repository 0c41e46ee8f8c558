"""``spendcast ui``, the CLI side: Locust's web UI with the kit's hooks, tab and run directories.

``launch`` starts Locust (a subprocess, as ``run/`` does) with the users' locustfile, the
recording hooks and ``spendcast_ui.py`` (``locust/ui_*``), handing it a ``UiSession``.
"""
