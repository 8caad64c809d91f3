"""Wire formats: request bodies in, `WirePoint`s and `Rejected` entries out (no I/O).

`json` (Weir's own `POST /metrics`), `influx` (line protocol), `prometheus` (text
exposition) and `pushgateway` (its grouping semantics), `otlp/` (OpenTelemetry). Every
decoder's points go through `IngestService.ingest_points`, so validation, limits and partial
success are shared; `shared` holds what the decoders have in common. The domain
(`weir.metrics`) never imports this package: it sits above the domain, below `weir.http`."""
