"""Compressed columns of points: how chunks and rollups are stored on both backends.

`columns` encodes (pure Python, so the ingest side and Lambdas never import numpy) and
decodes one column; `bulk` decodes many columns at once into numpy arrays for the query
path, so a read of 24,000 chunks costs a few Python operations per chunk, not per point.
docs/architecture.md ("Storage") has the measurements behind the choices.
"""
