"""The performance kit: Locust scenarios, headless runs, exact latencies, SLO gates, reports.

It talks HTTP only, to any host. Importing this package imports neither Locust nor gevent:
only ``scenarios``, ``hooks`` and ``locustfiles/`` do, and they run inside Locust processes.

- ``runner``: ``run_load(RunConfig) -> RunResult``, the run primitive every command builds on;
- ``scenarios``: the Locust users (also re-exported by the repository's ``locustfile.py``);
- ``hooks``, ``recording``: HDR histograms fed by Locust's request events, merged across workers;
- ``latency``: ``LatencyHistogram`` (microseconds, 3 significant digits, encode/decode/merge);
- ``slo``: ``p95<50ms``-style objectives; ``summary``: ``summary.json``; ``plots``, ``display``;
- ``server_process``: start a server command on a free port and wait until it is ready.
"""
