"""A real boto3 client with failures injected on purpose (the only mock in these tests)."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError


def throttled(op: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds"}}, op
    )


class FlakyClient:
    """Delegates to the real client; `throttle[op]` calls raise throttling first, and
    `unprocessed` BatchWriteItem calls write only half their items and return the rest;
    a call for which `fail(op, kwargs)` is true raises throttling (to aim at one write)."""

    def __init__(self, client, *, throttle: dict[str, int] | None = None, unprocessed: int = 0,
                 fail: Callable[[str, dict], bool] | None = None) -> None:
        self._client = client
        self.throttle = dict(throttle or {})
        self.fail = fail
        self.unprocessed = unprocessed
        self.calls: list[str] = []
        self.left_unprocessed = 0

    def __getattr__(self, name):
        real = getattr(self._client, name)
        if not callable(real) or name.startswith("_") or name in ("meta", "exceptions"):
            return real

        def call(**kwargs):
            self.calls.append(name)
            if self.throttle.get(name, 0) > 0:
                self.throttle[name] -= 1
                raise throttled(name)
            if self.fail is not None and self.fail(name, kwargs):
                raise throttled(name)
            if name == "batch_write_item" and self.unprocessed > 0:
                self.unprocessed -= 1
                (table, requests), = kwargs["RequestItems"].items()
                half, rest = requests[: len(requests) // 2], requests[len(requests) // 2 :]
                if half:
                    real(RequestItems={table: half})
                self.left_unprocessed += len(rest)
                return {"UnprocessedItems": {table: rest}}
            return real(**kwargs)

        return call
