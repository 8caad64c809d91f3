"""Calling DynamoDB: retries with backoff, BatchWriteItem in 25s, paginated Query, and the
translation of botocore errors into Weir's own.

botocore already retries throttled calls a few times; on top of that every call here is
retried with exponential backoff and full jitter, and BatchWriteItem's UnprocessedItems
are sent again the same way. The retries are bounded: when they run out the caller gets a
StorageError (HTTP 503), so a request is either stored or told it was not, never
acknowledged and lost.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from weir.errors import StorageError

log = logging.getLogger(__name__)

BATCH_WRITE_ITEMS = 25  # DynamoDB's limit per BatchWriteItem
BATCH_GET_KEYS = 100  # and per BatchGetItem
MAX_TRANSACT_ITEMS = 100  # and per TransactWriteItems
RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
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
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.rng = rng

    def backoff(self, attempt: int) -> None:
        self.sleep(self.rng() * min(self.max_delay, self.base_delay * 2**attempt))

    def call(self, op: str, table: str, **kwargs) -> dict:
        """`client.<op>(TableName=table, **kwargs)`, retried while throttled."""
        for attempt in range(self.max_attempts):
            try:
                with translated(op, table):
                    return getattr(self.client, op)(TableName=table, **kwargs)
            except _Retry:
                self.backoff(attempt)
        raise StorageError(
            f"DynamoDB kept throttling {op} on table {table!r} after {self.max_attempts} attempts; "
            "nothing of this request was acknowledged, retry it shortly"
        )

    def batch_write(self, table: str, requests: list[dict]) -> None:
        """Write every request (PutRequest/DeleteRequest), 25 per call, retrying the rest."""

        def send(pending: list[dict]) -> list[dict]:
            out = self.client.batch_write_item(RequestItems={table: pending})
            return out.get("UnprocessedItems", {}).get(table, [])

        for i in range(0, len(requests), BATCH_WRITE_ITEMS):
            self._until_done("BatchWriteItem", table, requests[i : i + BATCH_WRITE_ITEMS], send, lambda left, n: (
                f"{len(left)} items for table {table!r} were still unprocessed after {n} attempts (DynamoDB "
                "is throttling); nothing of this request was acknowledged, retry it shortly"))

    def batch_get(self, table: str, keys: list[dict], *, consistent: bool = True) -> list[dict]:
        """The items that exist among `keys`, 100 per call, retrying UnprocessedKeys."""
        found: list[dict] = []

        def send(pending: dict) -> dict:
            out = self.client.batch_get_item(RequestItems=pending)
            found.extend(out.get("Responses", {}).get(table, []))
            return out.get("UnprocessedKeys") or {}

        for i in range(0, len(keys), BATCH_GET_KEYS):
            batch = {table: {"Keys": keys[i : i + BATCH_GET_KEYS], "ConsistentRead": consistent}}
            self._until_done("BatchGetItem", table, batch, send, lambda left, n: (
                f"DynamoDB kept throttling reads of table {table!r} after {n} attempts; retry shortly"))
        return found

    def _until_done(self, op: str, table: str, pending, send: Callable, exhausted: Callable[..., str]) -> None:
        """`pending = send(pending)` until nothing is left: a batch call's unprocessed
        remainder and its throttling are both retried with backoff, `max_attempts` in all."""
        attempt = 0
        while True:
            try:
                with translated(op, table):
                    pending = send(pending)
            except _Retry:
                pass
            else:
                if not pending:
                    return
            attempt += 1
            if attempt >= self.max_attempts:
                raise StorageError(exhausted(pending, attempt))
            log.info("retrying %s on %s (attempt %d)", op, table, attempt)
            self.backoff(attempt)

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

        Conflicts with another transaction and throttling are retried with backoff; a failed
        condition is the caller's business (the codes say which operation's). A client
        request token per attempt makes botocore's own resends of that attempt (after a
        network error, when it may have been applied) idempotent; an attempt DynamoDB
        cancelled was not applied, so the next one gets a new token.
        """
        import uuid

        if len(ops) > MAX_TRANSACT_ITEMS:
            raise StorageError(
                f"a DynamoDB transaction on {table!r} would need {len(ops)} operations; at most "
                f"{MAX_TRANSACT_ITEMS} are allowed"
            )
        for attempt in range(self.max_attempts):
            token = uuid.uuid4().hex
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
                        raise _Retry() from None
            except _Retry:
                self.backoff(attempt)
        raise StorageError(
            f"DynamoDB kept cancelling a transaction on {table!r} (conflicts or throttling) after "
            f"{self.max_attempts} attempts; retry shortly"
        )

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
    pass


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
        if code in RETRYABLE:
            raise _Retry() from exc
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
    except BotoCoreError as exc:
        raise StorageError(f"could not reach DynamoDB for {op} on {table!r}: {exc}") from None
