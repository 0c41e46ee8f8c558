"""The HTTP server around the app: what ``spendcast serve`` runs, below the ASGI line.

- ``contract``: what the app and the server agree on (the ``RESPOND`` extension, the
  ``answer_now`` shortcut); a leaf that ``api/`` imports, and nothing else of this package.
- ``protocol``: uvicorn's httptools protocol with spendcast's changes (parse errors in the
  JSON error shape, the header limit, ``RESPOND``, ``answer_now``).
- ``workers``: the worker processes, each on its own ``SO_REUSEPORT`` socket, pinned or not.
- ``config``: the uvicorn configuration ``spendcast serve`` (and the benchmarks) start.

``cli/serve.py`` checks the settings and calls ``config`` and ``workers``; ``api/`` never
imports the server beyond ``contract``.
"""
