"""Hourly exports: object keys, parts and manifest (`render`), Parquet parts (`parquet`),
exporting one hour (`service`), and which hours are due (`schedule`)."""
