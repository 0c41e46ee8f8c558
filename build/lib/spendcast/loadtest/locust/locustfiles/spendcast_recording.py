"""The recording hooks, appended last to every ``-f`` the kit hands to Locust; no user.

They listen on ``events.request``: whatever users the other files define (ours, ``HttpUser``,
``FastHttpUser``, a custom client firing the event) are measured under the names they give.
"""

from spendcast.loadtest.locust import hooks

hooks.register()
