"""Calling DynamoDB: retries with backoff, BatchWriteItem in 25s, paginated Query, and the
translation of botocore errors into Weir's own.

This class is the one layer that retries DynamoDB calls. The client it is given makes one
HTTP attempt per call (`weir.backends.aws.session` builds DynamoDB clients without botocore's
retries): botocore cannot see two of the failures that need retrying (BatchWriteItem's
UnprocessedItems and a transaction cancelled by a conflict both come back as answers, not
errors), so with both layers retrying their budgets multiplied (8 here times botocore's 4:
32 HTTP attempts for one throttled write, each with its own backoff). Here every call gets
`max_attempts` HTTP attempts in all, whatever fails: throttling, a 5xx, a lost connection or
timeout (as botocore's standard mode retries them), unprocessed items, transaction conflicts;
exponential backoff with full jitter between them (none after the last). When they run out
the caller gets a StorageError (HTTP 503), so a request is either stored or told it was not,
never acknowledged and lost.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as SdkConnectionError

from weir.errors import StorageError

log = logging.getLogger(__name__)

BATCH_WRITE_ITEMS = 25  # DynamoDB's limit per BatchWriteItem
BATCH_GET_KEYS = 100  # and per BatchGetItem
MAX_TRANSACT_ITEMS = 100  # and per TransactWriteItems
# What botocore's standard retry mode retries, as DynamoDB answers it: throttling...
THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)
# ...and transient failures (the server's, or the network's: see `translated`).
TRANSIENT = frozenset(
    {"InternalServerError", "ServiceUnavailable", "RequestTimeout", "RequestTimeoutException",
     "PriorRequestNotComplete"}
)
RETRYABLE = THROTTLED | TRANSIENT
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
# Cancellation reasons of a transaction that a retry can get past.
_TRANSIENT_CANCEL = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


class Dynamo:
    """A boto3 DynamoDB client (injected) plus the retry policy."""

    def __init__(
        self,
        client,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep or time.sleep  # stores pass theirs through: None is the real one
        self.rng = rng

    def backoff(self, attempt: int) -> None:
        self.sleep(self.rng() * min(self.max_delay, self.base_delay * 2**attempt))

    def worst_case_backoff(self) -> float:
        """The most a call sleeps in all: a backoff between each two of its attempts."""
        return sum(min(self.max_delay, self.base_delay * 2**a) for a in range(self.max_attempts - 1))

    def _failed(self, attempt: int, op: str, table: str, why: str) -> None:
        """After failed attempt `attempt` (0-based): back off, or, when that was the last
        one, raise."""
        if attempt + 1 >= self.max_attempts:
            kept = {"throttled": "throttling", "cancelled": "cancelling"}.get(why.partition(":")[0], "failing")
            raise StorageError(
                f"DynamoDB kept {kept} {op} on table {table!r} after {self.max_attempts} attempts (last: {why}); "
                "nothing of this request was acknowledged, retry it shortly"
            )
        log.info("retrying %s on %s (attempt %d: %s)", op, table, attempt + 1, why)
        self.backoff(attempt)

    def call(self, op: str, table: str, **kwargs) -> dict:
        """`client.<op>(TableName=table, **kwargs)`, retried while throttled or unreachable."""
        attempt = 0
        while True:
            try:
                with translated(op, table):
                    return getattr(self.client, op)(TableName=table, **kwargs)
            except _Retry as r:
                self._failed(attempt, op, table, r.why)
            attempt += 1

    def batch_write(self, table: str, requests: list[dict]) -> None:
        """Write every request (PutRequest/DeleteRequest), 25 per call, retrying the rest."""

        def send(pending: list[dict]) -> list[dict]:
            out = self.client.batch_write_item(RequestItems={table: pending})
            return out.get("UnprocessedItems", {}).get(table, [])

        for i in range(0, len(requests), BATCH_WRITE_ITEMS):
            self._until_done("BatchWriteItem", table, requests[i : i + BATCH_WRITE_ITEMS], send, lambda left, n, why: (
                f"{len(left)} items for table {table!r} were still unprocessed after {n} attempts (last: {why}; "
                "DynamoDB is throttling or unreachable); nothing of this request was acknowledged, retry it shortly"))

    def batch_get(self, table: str, keys: list[dict], *, consistent: bool = True) -> list[dict]:
        """The items that exist among `keys`, 100 per call, retrying UnprocessedKeys."""
        found: list[dict] = []

        def send(pending: dict) -> dict:
            out = self.client.batch_get_item(RequestItems=pending)
            found.extend(out.get("Responses", {}).get(table, []))
            return out.get("UnprocessedKeys") or {}

        for i in range(0, len(keys), BATCH_GET_KEYS):
            batch = {table: {"Keys": keys[i : i + BATCH_GET_KEYS], "ConsistentRead": consistent}}
            self._until_done("BatchGetItem", table, batch, send, lambda left, n, why: (
                f"DynamoDB kept failing reads of table {table!r} after {n} attempts (last: {why}); retry shortly"))
        return found

    def _until_done(self, op: str, table: str, pending, send: Callable, exhausted: Callable[..., str]) -> None:
        """`pending = send(pending)` until nothing is left: a batch call's unprocessed
        remainder and its failures are both retried with backoff, `max_attempts` in all."""
        attempt = 0
        while True:
            try:
                with translated(op, table):
                    pending = send(pending)
            except _Retry as r:
                why = r.why
            else:
                if not pending:
                    return
                why = "unprocessed items"
            if attempt + 1 >= self.max_attempts:
                raise StorageError(exhausted(pending, self.max_attempts, why))
            log.info("retrying %s on %s (attempt %d: %s)", op, table, attempt + 1, why)
            self.backoff(attempt)
            attempt += 1

    def query(self, table: str, **kwargs) -> Iterator[dict]:
        """Every item of a Query, page after page."""
        while True:
            page = self.call("query", table, **kwargs)
            yield from page.get("Items", [])
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def transact(self, table: str, ops: list[dict]) -> list[str] | None:
        """TransactWriteItems; None when applied, else each operation's cancellation code.

        Conflicts with another transaction, throttling and lost connections are retried with
        backoff, `max_attempts` in all; a failed condition is the caller's business (the
        codes say which operation's). An attempt that may have been applied (a lost
        connection, a 5xx) is resent with the same client request token, which DynamoDB makes
        idempotent; an attempt DynamoDB cancelled was not applied, so the next gets a new one.
        """
        import uuid

        if len(ops) > MAX_TRANSACT_ITEMS:
            raise StorageError(
                f"a DynamoDB transaction on {table!r} would need {len(ops)} operations; at most "
                f"{MAX_TRANSACT_ITEMS} are allowed"
            )
        token = uuid.uuid4().hex
        attempt = 0
        while True:
            try:
                with translated("TransactWriteItems", table):
                    try:
                        self.client.transact_write_items(TransactItems=ops, ClientRequestToken=token)
                        return None
                    except ClientError as exc:
                        if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                            raise
                        codes = [r.get("Code") or "None" for r in exc.response.get("CancellationReasons", [])]
                        if "ConditionalCheckFailed" in codes:
                            return codes
                        if not any(c in _TRANSIENT_CANCEL for c in codes):
                            raise StorageError(
                                f"DynamoDB cancelled a transaction on {table!r}: {', '.join(codes)}"
                            ) from None
                        token = uuid.uuid4().hex  # cancelled: nothing was applied
                        raise _Retry("cancelled: " + ", ".join(codes)) from None
            except _Retry as r:
                self._failed(attempt, "TransactWriteItems", table, r.why)
            attempt += 1

    def count(self, table: str, **kwargs) -> int:
        total = 0
        while True:
            page = self.call("query", table, Select="COUNT", **kwargs)
            total += page.get("Count", 0)
            last = page.get("LastEvaluatedKey")
            if not last:
                return total
            kwargs["ExclusiveStartKey"] = last


class _Retry(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class ConditionFailed(Exception):
    """A conditional write found the item changed; the caller decides what that means."""


@contextmanager
def translated(op: str, table: str):
    """Turn botocore errors into StorageError with a message a person can act on."""
    try:
        yield
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code, message = err.get("Code", "Unknown"), err.get("Message", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in THROTTLED:
            raise _Retry(f"throttled: {code}") from exc
        if code in TRANSIENT or status in _TRANSIENT_STATUS:
            raise _Retry(f"{code} (HTTP {status})") from exc
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(message) from None
        if code == "ResourceNotFoundException":
            raise StorageError(
                f"DynamoDB table {table!r} does not exist: deploy the stack, check the table "
                "name settings, or start `weir serve --backend aws --create-tables` against an emulator"
            ) from None
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            raise StorageError(f"not allowed to {op} on DynamoDB table {table!r}: {message}") from None
        raise StorageError(f"DynamoDB {op} on {table!r} failed: {code}: {message}") from None
    except (SdkConnectionError, HTTPClientError) as exc:  # no answer, or a cut one: retried as botocore would
        raise _Retry(f"could not reach DynamoDB: {exc}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"could not reach DynamoDB for {op} on {table!r}: {exc}") from None
