"""The file-metadata pipeline's domain: S3 event records, the metadata record, ordering.

No I/O here. An object store (S3, or a local folder) is reached through the `ObjectSource`
port and the catalog (SQLite, DynamoDB) through `FileCatalog`, both in `weir.files.ports`.
"""
