"""PromQL: the parser adapter, the evaluator and its functions, over Weir's stores.

Pure (no HTTP, no boto3 or sqlite3). It imports numpy, so only the query path imports it:
never the ingest path nor a Lambda's cold start.
"""
