"""How much load does the API hold within its SLOs? The step search, its run and its answer.

``search`` decides (pure logic, no Locust); ``runner`` runs it through ``locust/shapes``.
"""
