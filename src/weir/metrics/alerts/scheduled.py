"""One scheduled alerting pass: what the `alerts` function does every minute.

Where `weir serve` has two threads (evaluate after each ingest and every minute; deliver
when woken), AWS has a one-minute EventBridge schedule and nothing running in between.
A pass evaluates every enabled rule, then delivers the outbox until it is empty or the
invocation's time runs short. Deliveries that fail stay pending with their backoff and
are attempted by a later pass; what was recorded is never lost with the invocation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from weir.metrics.alerts.evaluate import AlertEngine
from weir.metrics.alerts.notify import Dispatcher, Router


@dataclass(frozen=True)
class PassResult:
    events: int  # transitions and reminders recorded by this pass
    sent: int  # deliveries that succeeded
    failed: int  # delivery attempts that failed (left pending for a later pass, or given up)
    next_due_ns: int | None  # the earliest delivery still pending, if any

    def as_dict(self) -> dict:
        return {"events": self.events, "sent": self.sent, "failed": self.failed, "next_due_ns": self.next_due_ns}


def scheduled_pass(
    engine: AlertEngine,
    dispatcher: Dispatcher,
    router: Router,
    *,
    seconds_left: Callable[[], float] = lambda: float("inf"),
    reserve_seconds: float = 5.0,
) -> PassResult:
    """Evaluate all rules, then deliver while there is time; returns what happened.

    `router` is the engine's: its subscriptions are reloaded first, since another process
    (the `api` function) changes them."""
    sent, failed = dispatcher.sent, dispatcher.failures
    router.reload()
    events = engine.evaluate_all()
    while seconds_left() > reserve_seconds and dispatcher.deliver_due():
        pass
    return PassResult(len(events), dispatcher.sent - sent, dispatcher.failures - failed,
                      dispatcher.alerts.next_due_ns())
