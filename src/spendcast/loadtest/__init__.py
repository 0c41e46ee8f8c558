"""The performance kit: headless Locust runs, exact latencies, SLO gates, searches, reports.

It talks HTTP only, to any host, and never imports ``spendcast.api`` or ``spendcast.monitoring``.
One sub-package per question; only ``locust/`` imports Locust or gevent, and only Locust's own
processes import it (tests/architecture proves it). What both sides agree on is in ``contract``.

- ``contract``: the file, env, option and user-class names shared across the Locust boundary;
- ``run/``: one headless run as one directory (``run_load(RunConfig) -> RunResult``), exact HDR
  latencies, SLOs, ``summary.json``, plots, the live display, Locust's master/worker mode;
  ``RunConfig`` is made of value objects (target, users, load, generators, gates, window,
  output) that refuse what makes no sense (``run/config_rules.py``);
- ``capacity/``: the highest load an API holds within its SLOs (the step search and its run);
- ``compare/``: did a change make it faster (interleaved pairs, statistics, the report);
- ``profile/``: where the server spends its time under load (py-spy stacks, flame graph);
- ``report/``: one self-contained HTML page for a run, capacity, compare or profile directory;
- ``locust/``: inside Locust: users, recording hooks, the open-model timetable, load shapes,
  hand-over between workers, and the locustfiles ``run/`` hands to Locust.
"""
