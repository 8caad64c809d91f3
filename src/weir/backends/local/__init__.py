"""Local adapters that are not SQLite: the watched folder."""
