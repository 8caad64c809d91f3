"""Acknowledge a write only once it is durable, without holding a request thread hostage.

A store's `append` hands its commit to a writer thread and gets a future. Called directly
(tests, the CLI, a Lambda), `settle` waits for that future. The local HTTP gateway instead
opens a `deferred` scope around the route handler and awaits the futures itself before it
sends the response: the handler stays synchronous (as the Lambda needs it), the event loop
keeps serving other connections, and concurrent requests share one commit (group commit).
Either way the answer goes out only after the data is on disk.

State that describes stored points (Pushgateway group membership) must not change before
those points are durable: `when_durable` runs such a step after the request's writes and
makes the answer wait for the step too, so a failure of either is what the client hears.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from weir.errors import StorageError

_scope = threading.local()
_steps: ThreadPoolExecutor | None = None
_steps_lock = threading.Lock()


@contextmanager
def deferred() -> Iterator[list[Future]]:
    pending: list[Future] = []
    _scope.pending = pending
    try:
        yield pending
    finally:
        _scope.pending = None


def settle(future: Future) -> None:
    pending = getattr(_scope, "pending", None)
    if pending is None:
        future.result()
    else:
        pending.append(future)


def after_durable(callback) -> None:
    """Call `callback()` once every write settled so far in this scope is durable.

    Outside a deferred scope the writes have already been waited for, so it runs now. In
    one, it runs on the thread that completes the last write (the store's writer), so it
    must be quick: hand work to a queue. It is not called if a write failed.
    """
    pending = list(getattr(_scope, "pending", None) or ())
    if not pending:
        callback()
        return
    if len(pending) == 1:  # one write in the request (nearly always): no count to keep
        pending[0].add_done_callback(lambda f: None if f.cancelled() or f.exception() is not None else callback())
        return
    lock = threading.Lock()
    left = [len(pending)]

    def done(future: Future) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        with lock:
            left[0] -= 1
            fire = left[0] == 0
        if fire:
            callback()

    for future in pending:
        future.add_done_callback(done)


def when_durable(step: Callable[[], None]) -> None:
    """Run `step()` once every write settled so far in this scope is durable, as part of the
    request: its answer waits for the step and reports the step's error.

    Outside a deferred scope (a Lambda, the CLI, tests) the writes were already waited for,
    so it runs now and raises as any call does. In one (the local gateway), the step's
    outcome joins the pending futures the gateway awaits. If a write fails the step never
    runs and that write's error completes it, so the state it would change stays as it was.
    The step runs on a worker thread of its own: not on the store's writer, which completes
    the writes and stays dedicated to points, nor on the event loop, which the step's own
    I/O would block.
    """
    pending = getattr(_scope, "pending", None)
    writes = list(pending or ())
    if pending is None or not writes:
        step()
        return
    outcome: Future = Future()
    pending.append(outcome)
    lock = threading.Lock()
    state = {"left": len(writes), "over": False}

    def done(write: Future) -> None:
        error = write.exception() if not write.cancelled() else StorageError("the write was cancelled")
        with lock:
            if state["over"]:
                return
            state["left"] -= 1
            state["over"] = error is not None or state["left"] == 0
            if not state["over"]:
                return
        if error is not None:
            outcome.set_exception(error)
        else:
            _executor().submit(_run, step, outcome)

    for write in writes:
        write.add_done_callback(done)


def _run(step: Callable[[], None], outcome: Future) -> None:
    try:
        step()
    except BaseException as exc:  # the request's answer, not this worker's concern
        outcome.set_exception(exc)
    else:
        outcome.set_result(None)


def _executor() -> ThreadPoolExecutor:
    global _steps
    with _steps_lock:
        if _steps is None:
            _steps = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weir-when-durable")
        return _steps
