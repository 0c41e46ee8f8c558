"""How did one load run go? The headless run primitive every other room builds on.

``runner.run_load`` starts Locust as a subprocess and reads back what its hooks recorded;
nothing here imports Locust or gevent.
"""
