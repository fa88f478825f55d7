"""The attendance bot's core: domain rules, services, transports and the CLI.

``bot`` imports ``storage`` and nothing from ``handlers`` or ``scheduler``.
"""
