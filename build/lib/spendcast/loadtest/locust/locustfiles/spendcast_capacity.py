"""The load shape ``spendcast capacity`` appends after the users' locustfile; it defines no user.

Locust runs the first shape class it finds: a users' file with a shape of its own is refused
by ``capacity`` before the run.
"""

from spendcast.loadtest.locust.shapes import CapacityShape

__all__ = ["CapacityShape"]
