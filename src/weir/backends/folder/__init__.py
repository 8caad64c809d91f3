"""Local folders playing S3: the exports folder (`objects`), the watched bucket folder
(`bucket`, an `ObjectSource`) and its watcher thread (`watcher`)."""
