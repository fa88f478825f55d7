"""The demo kit: the sandbox page, the sample trust and the scripted demo week.

It imports the product (``bot``, ``handlers``, ``storage``) and is never imported by it
(``tests/test_architecture.py`` checks): the product reaches it only through the hooks its process
edges are given, the ``attendance_bot.commands`` entry point (``demo``, ``demo-data``, ``run-local``)
and ``handlers.app.create_app(extra_edges=...)`` (the ``/sandbox`` routes, see ``tryout.web``).
"""
