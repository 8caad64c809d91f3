"""Acknowledge a write only once it is durable, without holding a request thread hostage.

A store's `append` hands its commit to a writer thread and gets a future. Called directly
(tests, the CLI, a Lambda), `settle` waits for that future. The local HTTP gateway instead
opens a `deferred` scope around the route handler and awaits the futures itself before it
sends the response: the handler stays synchronous (as the Lambda needs it), the event loop
keeps serving other connections, and concurrent requests share one commit (group commit).
Either way the answer goes out only after the data is on disk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

_scope = threading.local()


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
