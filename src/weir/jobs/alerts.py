"""The local runtime of alerting: one evaluator thread and one dispatcher thread.

On AWS the same engine and dispatcher are driven by Lambda (after ingest) and EventBridge
(the one-minute schedule); `weir serve` drives them with these two threads instead.

- Ingest hands each durable batch to `metrics_ingested`, which only queues the list of
  series ids: the request never waits for evaluation. The evaluator drains the queue,
  resolves the ids to metric names, and evaluates the rules on those metrics. Passes are
  at least `min_interval` apart, and at least four times as long apart as the last pass
  took, so a burst of batches costs one evaluation, not one each, and evaluation never
  takes more than about a fifth of the process's time (it shares the GIL with ingest).
- Every `evaluate_every` seconds it evaluates every enabled rule, which is how missing
  data is noticed when nothing is ingested at all.
- The dispatcher delivers the outbox: woken when events are recorded or a delivery ends,
  and otherwise when the earliest retry is due. It sends to the log itself and hands every
  other delivery to its target's lane (`weir.jobs.delivery`): targets run in parallel,
  each on threads of its own, so a hanging webhook delays no other target.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from weir.jobs.delivery import DeliveryLanes
from weir.metrics.alerts.evaluate import AlertEngine
from weir.metrics.alerts.notify import INLINE_TARGETS, Dispatcher
from weir.metrics.ports import PointBatch
from weir.metrics.timeutil import NS

log = logging.getLogger(__name__)

_ALL = object()
_STOP = object()


class AlertWorker:
    def __init__(
        self,
        engine: AlertEngine,
        dispatcher: Dispatcher,
        *,
        evaluate_every: float = 60.0,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.dispatcher = dispatcher
        self.evaluate_every = evaluate_every
        self.min_interval = min_interval
        self.clock = clock
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._evaluate_loop, name="weir-alert-evaluator", daemon=True),
            threading.Thread(target=self._dispatch_loop, name="weir-alert-dispatcher", daemon=True),
        ]
        self.passes = 0  # evaluation passes done (for tests and the benchmark)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(_STOP)
        self._wake.set()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=30)

    # -- inputs (any thread; must return at once) -------------------------------------

    def metrics_ingested(self, batch: PointBatch) -> None:
        self._queue.put(set(batch.names) if batch.names is not None else batch.series_ids)

    def metrics_changed(self, names: set[str]) -> None:
        self._queue.put(set(names))

    def rules_changed(self) -> None:
        self._queue.put(_ALL)

    def wake_dispatcher(self) -> None:
        self._wake.set()

    # -- the evaluator ------------------------------------------------------------------

    def _evaluate_loop(self) -> None:
        next_all = self.clock()  # evaluate everything once at start
        last_pass = float("-inf")
        gap = self.min_interval
        while True:
            timeout = max(0.0, next_all - self.clock())
            try:
                items = [self._queue.get(timeout=timeout)]
            except queue.Empty:
                items = []
            # Coalesce: wait out the minimum interval, then take everything queued meanwhile.
            wait = last_pass + gap - self.clock()
            if items and wait > 0:
                self._stopping.wait(wait)
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in items or self._stopping.is_set():
                return
            everything = _ALL in items or self.clock() >= next_all
            started = self.clock()
            try:
                if everything:
                    events = self.engine.evaluate_all()
                    next_all = self.clock() + self.evaluate_every
                else:
                    events = self.engine.evaluate_metrics(self._names(items))
            except Exception:
                log.exception("alert evaluation pass failed; the next one retries")
                events = []
            last_pass = self.clock()
            gap = max(self.min_interval, 4 * (last_pass - started))
            self.passes += 1
            if events:
                self._wake.set()

    def _names(self, items: list) -> set[str]:
        names: set[str] = set()
        ids: set[int] = set()
        for item in items:
            if isinstance(item, set):
                names |= item
            elif isinstance(item, list):
                ids.update(item)
        get = self.engine.store.get_series
        for sid in ids:
            s = get(sid)
            if s is not None:
                names.add(s.name)
        return names

    # -- the dispatcher -----------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        dispatcher = self.dispatcher
        lanes = DeliveryLanes(dispatcher, on_done=self._wake.set)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    while not self._stopping.is_set():
                        due = dispatcher.due(skip_targets=lanes.full_targets(), skip_ids=lanes.in_flight())
                        inline = [d for d in due if d.target in INLINE_TARGETS]
                        dispatcher.deliver_inline(inline)
                        taken = len(inline) + sum(lanes.submit(d) for d in due if d.target not in INLINE_TARGETS)
                        if not taken:  # nothing due, or only for full lanes: wait for one to free up
                            break
                    due_ns = dispatcher.alerts.next_due_ns()
                except Exception:
                    log.exception("delivering alert notifications failed; retrying shortly")
                    due_ns = None
                    self._stopping.wait(1.0)
                self._wake.wait(timeout=self._idle_seconds(due_ns))
        finally:
            lanes.stop()

    def _idle_seconds(self, due_ns: int | None) -> float:
        """How long to sleep when nothing can be sent now: until the next retry is due, or,
        when something due is held back (a full lane wakes us as it frees up; an open
        circuit does not), until the earliest circuit turns half-open."""
        now = self.dispatcher.clock()
        if due_ns is None:
            return 60.0
        wait = due_ns / NS - now
        if wait > 0:
            return min(wait, 60.0)
        reopen = self.dispatcher.circuits.next_change()
        return 60.0 if reopen is None else min(60.0, max(0.05, reopen - now))
