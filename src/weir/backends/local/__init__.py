"""Local adapters that are not SQLite: notification channels, export folders, the watched bucket folder."""
