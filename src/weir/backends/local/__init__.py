"""Local adapters that are not SQLite: notification channels for `weir serve`."""
