"""What both sides of the kit share: the CLI side (``run``, ``capacity``, ``report``...) and the
Locust side (``locust``, imported inside every Locust process).

The names they agree on (``contract``), the data that crosses the process boundary (``progress``,
``recording``, its file ``recording_file``, ``tally``, ``run_summary``), and the pure
computations both make (latency, load plan, SLO, capacity search, trace timetable). It imports
neither side, nor Locust or gevent (``tests/architecture`` checks it): ``ls`` tells which code
runs inside Locust.
"""
