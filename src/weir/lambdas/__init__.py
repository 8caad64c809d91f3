"""Lambda entry points: one short module per function."""
