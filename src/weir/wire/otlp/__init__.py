"""OpenTelemetry OTLP/HTTP metrics: `decode` (the entry point and the answers), the
`reference` walk (a leaf), the fast paths `fast_pb` and `fast_json` checked against it,
the request `schema` for JSON, and the per-resource/scope `context` cache."""
