"""Put first in ``-f`` for ``--rate`` and ``--stages``: the load shape that runs the load plan.

No user class and no hook here: the user classes come from the other files (the kit's
scenarios or the user's own) and the hooks from ``spendcast_recording.py``, always last.
"""

from spendcast.loadtest.locust.shapes import PlanShape

__all__ = ["PlanShape"]
