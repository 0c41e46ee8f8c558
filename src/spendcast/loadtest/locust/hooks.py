"""The kit's Locust side, registered once per process on Locust's global events.

``locustfiles/spendcast_recording.py``, which the kit appends last to the ``-f`` it hands to
Locust (whichever users run: the kit's scenarios or the user's own locustfile), calls
``register``; a user's own locustfile may too. What is registered is one ``side.LocustSide``:
the recording every request feeds, the hand-over between workers, the progress line and the
run's files. The kit's load shapes and web UI read what it recorded (``current_recording``).
"""

from __future__ import annotations

from locust import events

from spendcast.loadtest.locust.side import LocustSide
from spendcast.loadtest.shared.recording import Recording

_side = LocustSide()  # this process's


def register() -> None:
    """Attach this process's ``LocustSide`` to Locust's global events (once)."""
    _side.listen(events)


def current_recording() -> Recording:
    """This process's recording (a load shape reads the seconds completed so far)."""
    return _side.recording
