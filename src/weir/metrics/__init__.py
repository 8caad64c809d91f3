"""The metrics domain: models, decoding and validation, series identity, aggregation. No I/O."""
