"""Local adapters on SQLite (WAL), all under one data folder."""
