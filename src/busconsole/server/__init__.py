"""The reference store server: the bus protocol over websockets, entities in SQLite.

``app.ReferenceServer`` (async) and ``runner.ServerThread`` (own thread and loop)
are the entry points; ``handlers`` answers frames without sockets, ``stellar``
evaluates queries, ``db`` stores rows, ``seed`` has the demo data and
``simulate`` the simulated frontends.
"""
