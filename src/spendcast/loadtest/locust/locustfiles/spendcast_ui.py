"""``spendcast ui``: the "spendcast" tab, the arrival rate field and a run directory per test.

Appended after ``spendcast_recording.py`` (its recording is what the tab shows); no user.
"""

from spendcast.loadtest.locust import ui_web

ui_web.register()
