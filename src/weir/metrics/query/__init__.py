"""The read path: `service` answers the metrics API's queries (list, series, aggregate).
Round two grows it (series selection, chunk and rollup reads as arrays) beside `service`."""
