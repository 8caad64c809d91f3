"""Subcommands of `weir`, one module per topic."""
