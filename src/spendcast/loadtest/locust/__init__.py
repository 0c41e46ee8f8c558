"""Inside Locust: the only room of the kit that imports Locust or gevent.

Users (``scenarios``) and the open-model timetable any user class can run on (``arrival``),
the kit's side of each Locust process (``side``: the recording, its hand-over between workers in
``handoff``, the progress line in ``progress_writer``, the run's end in ``stopping``; registered
once by ``hooks``), the load shapes (``shapes``: a load plan, a capacity search) and the
locustfiles the CLI side runs by path.
Only Locust processes import these modules (gevent monkey-patches them); names shared with the
CLI side live in ``spendcast.loadtest.shared.contract``. This ``__init__`` imports nothing, so
``import spendcast.loadtest.locust`` alone stays cheap.
"""
