"""Heavy reads run on a bounded pool of worker threads, never on the event loop of `weir serve`.

Why: the local gateway resolves every request on the event-loop thread (Powertools keeps
the current event in class state, so two resolves must never overlap). A query that reads
a million points there froze `/health` and every ingest request until it was done.

How: the resolve stays on the loop thread -- routing, authentication, the rate limit, the
request's parameters -- and only the route function of a heavy route moves. Which routes
are heavy is a property of the route table, not a list: every GET route is, unless marked
`light` (answered from memory: `/health`, `/openapi.json`); a route of another method that
only reads (PromQL's POST /api/v1/query) is marked `heavy`. The resolver wraps them when they
are registered (`weir.http.routes._Resolver.route`), so a route added later cannot block the
loop by omission; a test checks it.

In the gateway's `offloads()` scope, a wrapped route function does not run: it leaves a job
(itself, its arguments, a snapshot of its event) and returns a placeholder the gateway
ignores. The gateway then runs the job on the pool; the route function reads its request
through the snapshot (`snapshot_event`), which the resolver's `current_event` returns on
that thread. Outside the scope (the `api` Lambda, one request per process) the function
simply runs.

The pool is bounded: `workers` threads and at most `queue` jobs waiting. A job beyond that is
refused at once with a 503 and `Retry-After` (`BusyError`), not queued without end.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from weir.errors import UnavailableError

DEFAULT_WORKERS = 2
DEFAULT_QUEUE = 32
LIGHT_ROUTES = frozenset({"/health", "/openapi.json"})  # the only GET routes answered on the loop

_F = TypeVar("_F", bound=Callable[..., Any])
_state = threading.local()


class BusyError(UnavailableError):
    status = 503
    code = "busy"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def heavy(func: _F) -> _F:
    """Mark a route function of a method other than GET as heavy: it runs on the pool."""
    func.__weir_heavy__ = True  # type: ignore[attr-defined]
    return func


def light(func: _F) -> _F:
    """Mark a GET route function as light: it answers from memory on the loop thread."""
    func.__weir_light__ = True  # type: ignore[attr-defined]
    return func


def runs_on_pool(func: Callable, methods: tuple[str, ...]) -> bool:
    if getattr(func, "__weir_light__", False):
        return False
    return getattr(func, "__weir_heavy__", False) or any(m.upper() in ("GET", "HEAD") for m in methods)


def is_offloaded(func: Callable) -> bool:
    """Whether a registered route function is the pool's wrapper (for the route-table test)."""
    return getattr(func, "__weir_offloaded__", False)


def offloadable(func: Callable, make_job: Callable[[Callable, tuple, dict], Callable[[], Any]],
                placeholder: Callable[[], Any]) -> Callable:
    """`func` as registered: run now outside the gateway's scope, else leave a job for the pool."""
    from functools import wraps

    @wraps(func)
    def route(*args, **kwargs):
        jobs = getattr(_state, "jobs", None)
        if jobs is None:
            return func(*args, **kwargs)
        jobs.append(make_job(func, args, kwargs))
        return placeholder()

    route.__weir_offloaded__ = True  # type: ignore[attr-defined]
    return route


@contextmanager
def offloads() -> Iterator[list[Callable[[], Any]]]:
    """The gateway's scope around one resolve: the jobs heavy routes left in it."""
    jobs: list[Callable[[], Any]] = []
    _state.jobs = jobs
    try:
        yield jobs
    finally:
        _state.jobs = None


@contextmanager
def snapshot_event(event: Any) -> Iterator[None]:
    """On a worker thread: the event the job's route function reads as `current_event`."""
    _state.event = event
    try:
        yield
    finally:
        _state.event = None


def current_snapshot() -> Any:
    return getattr(_state, "event", None)


class WorkPool:
    """`workers` threads; at most `workers + queue` jobs admitted at once, the rest refused."""

    def __init__(self, workers: int = DEFAULT_WORKERS, queue: int = DEFAULT_QUEUE,
                 busy_switch_interval: float | None = None) -> None:
        """`busy_switch_interval`: the interpreter's thread switch interval (`sys.setswitchinterval`)
        while any job is admitted; the one in force before is restored when the last ends.

        Why only then: a short interval keeps the event loop (/health, ingest) answering while
        query workers hold the GIL, but with no query running it cost ingest ~8-14% (more GIL
        hand-overs between the loop and the store's writer; bench/ingest.py)."""
        if workers < 1 or queue < 0:
            raise ValueError("a work pool needs at least one worker and a queue of zero or more")
        self.workers, self.queue = workers, queue
        self._busy_interval = busy_switch_interval
        self._idle_interval = sys.getswitchinterval()
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="weir-query")
        self._lock = threading.Lock()
        self._admitted = 0
        self.refused = 0

    @property
    def admitted(self) -> int:
        """Jobs running or waiting now."""
        return self._admitted

    async def run(self, job: Callable[[], Any]) -> Any:
        with self._lock:
            if self._admitted >= self.workers + self.queue:
                self.refused += 1
                raise BusyError(
                    f"the server is busy with {self._admitted} queries ({self.workers} running, at most "
                    f"{self.queue} waiting); retry shortly, or narrow the query so it finishes sooner"
                )
            self._admitted += 1
            if self._admitted == 1 and self._busy_interval is not None:
                sys.setswitchinterval(self._busy_interval)
        future = self._executor.submit(job)
        future.add_done_callback(self._release)  # when the job ends, not when its client leaves
        return await asyncio.wrap_future(future)

    def _release(self, _future) -> None:
        with self._lock:
            self._admitted -= 1
            if self._admitted == 0 and self._busy_interval is not None:
                sys.setswitchinterval(self._idle_interval)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
