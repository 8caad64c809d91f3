"""Subcommands of `weir`, one module per topic; `weir.cli` adds them to the group."""
