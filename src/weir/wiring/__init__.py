"""The composition root: one typed builder per entry point, and nothing else chooses adapters.

| entry point | builder | bundle |
|---|---|---|
| `weir serve` | `serve.build_serve` | `Serve`: the API's services, background jobs, what to close |
| `api` Lambda | `api.build_api` | `weir.http.services.ApiServices` |
| `stream` Lambda | `stream.build_stream` | the DynamoDB metric store |
| `alerts` Lambda | `alerts.build_alerts` | `AlertsFunction`: engine and dispatcher |
| `exporter` Lambda | `exporter.build_exporter` | `ExporterFunction`: store and export scheduler |
| `file_indexer` Lambda | `file_indexer.build_file_indexer` | `FileIndexerFunction` |

Shared parts: `aws` (the one AWS client factory for every function, the DynamoDB store),
`alerting` (alerting built as a value, the config file and retry policy read once),
`exports` (the export target), `local` (SQLite and folder adapters, `weir export`'s view).
Modules import their adapters inside the builders: a Lambda function imports only its
own part on its cold start.
"""
