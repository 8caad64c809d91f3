"""The garbage collector during a Lambda cold start.

A cold start allocates hundreds of thousands of long-lived objects (botocore's service
models and endpoint rules, Powertools, Weir's modules), and CPython's cyclic collector
runs every few hundred allocations, each full pass rescanning everything alive so far:
about 50 ms of each function's cold start, a fifth of creating a DynamoDB client
(bench/cold_start.py --no-gc-pause shows it). None of it is garbage.

So, in a Lambda sandbox only (the runtime sets AWS_LAMBDA_FUNCTION_NAME; tests and
`weir serve` never pause), the collector is paused from the first import of
`weir.lambdas` until the container's services are built, then `settle()` moves every
object alive to the permanent generation (`gc.freeze`) and turns collection back on: later
collections, one per request's garbage, never rescan the init objects. A handler that
fails before its services are built still settles at the end of its first invocation
(`runtime.first_call_settles`). The cost is that cyclic garbage made during init is never
collected; init makes little.
"""

from __future__ import annotations

import gc
import os

_paused = False


def pause() -> None:
    """Pause the collector for the cold start, in a Lambda sandbox only."""
    global _paused
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and gc.isenabled():
        gc.disable()
        _paused = True


def settle() -> None:
    """End the cold start's pause: freeze what init built, collect again from now on."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def paused() -> bool:
    return _paused
