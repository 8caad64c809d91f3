"""`when_durable`: a step that must follow the writes of its request, never precede them."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from weir.durability import deferred, settle, when_durable
from weir.errors import StorageError


def test_outside_a_scope_the_step_runs_now_and_raises_as_a_call_does():
    ran = []
    when_durable(lambda: ran.append(threading.current_thread()))
    assert ran == [threading.current_thread()]
    with pytest.raises(StorageError):
        when_durable(_raise(StorageError("no")))


def test_in_a_scope_the_step_waits_for_every_write_and_joins_the_answer():
    writes = [Future(), Future()]
    ran = threading.Event()
    with deferred() as pending:
        for w in writes:
            settle(w)
        when_durable(ran.set)
    assert len(pending) == 3, "the step's outcome is awaited with the writes"
    writes[0].set_result(None)
    assert not ran.is_set() and not pending[2].done()
    writes[1].set_result(None)
    assert pending[2].result(timeout=30) is None and ran.is_set()


def test_a_failed_write_means_the_step_never_runs_and_its_error_is_the_answer():
    write: Future = Future()
    ran = []
    with deferred() as pending:
        settle(write)
        when_durable(lambda: ran.append(1))
    error = StorageError("disk says no")
    write.set_exception(error)
    assert pending[1].exception(timeout=30) is error
    assert ran == []


def test_a_failed_step_is_the_answer():
    write: Future = Future()
    with deferred() as pending:
        settle(write)
        when_durable(_raise(StorageError("members refused")))
    write.set_result(None)
    with pytest.raises(StorageError, match="members refused"):
        pending[1].result(timeout=30)


def test_the_step_runs_off_the_thread_that_completed_the_write():
    """The store's writer completes the write; the step must not run on it (points only)."""
    write: Future = Future()
    where = []
    with deferred() as pending:
        settle(write)
        when_durable(lambda: where.append(threading.current_thread()))
    writer = threading.Thread(target=write.set_result, args=(None,))
    writer.start()
    writer.join()
    pending[1].result(timeout=30)
    assert where and where[0] is not writer


def test_with_no_write_pending_the_step_runs_now():
    ran = []
    with deferred() as pending:
        when_durable(lambda: ran.append(1))
    assert ran == [1] and pending == []


def _raise(exc):
    def step():
        raise exc

    return step
