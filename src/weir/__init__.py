"""Weir: a metrics and file-metadata pipeline that runs whole on one machine and deploys to AWS."""

__version__ = "0.1.0"
