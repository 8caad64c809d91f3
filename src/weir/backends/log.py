"""The log notifier: one JSON line per alert event, in every deployment (the `log` target)."""

from __future__ import annotations

import logging

import msgspec

from weir.metrics.alerts.model import AlertEvent

events_log = logging.getLogger("weir.alerts.events")


class LogNotifier:
    """One JSON line per event on the `weir.alerts.events` logger."""

    def send(self, event: AlertEvent) -> None:
        line = msgspec.json.encode({"alert": event}).decode()
        level = logging.WARNING if event.state == "ALARM" else logging.INFO
        events_log.log(level, "%s", line)
