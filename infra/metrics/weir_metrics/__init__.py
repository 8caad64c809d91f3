"""Weir's metrics stack as Pulumi components: one ComponentResource per logical unit.

`__main__.py` reads the configuration and composes them; `contract.py` is everything the
stack takes from Weir's own code (table schemas, variable names, handlers), so the two
cannot drift.
"""

TYPE_PREFIX = "weir:metrics:"
