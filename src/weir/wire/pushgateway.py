"""The Pushgateway push API over a time-series store: what PUT, POST and DELETE mean here.

A Pushgateway is a cache of the *latest* samples per group, scraped later; Weir is a time
series store, where a value written at a time stays true for that time. So Weir does not
rewrite or erase history. Instead it records **group membership**: for each group (the
grouping labels of the URL, `{job="backup",instance="db1"}`) the metric families and series
its pushes currently hold, and when it was last pushed.

- `PUT`: the samples are stored as points; the group's membership becomes exactly the
  families and series of this push (an empty body empties the group).
- `POST`: the samples are stored; only the families present in the push replace the
  group's membership of those families, others are kept.
- `DELETE`: the group's membership is forgotten. Stored points stay until retention removes
  them, as any point does.

Like the Pushgateway, every successful PUT/POST also writes `push_time_seconds` and every
failed one `push_failure_time_seconds` (a gauge of Unix seconds, with the grouping labels as
dimensions), so "when did this batch job last succeed" is a query. `GET /pushgateway/groups`
lists the groups and their members.

Membership changes only after the push's points and its `push_time_seconds` are durable
(`weir.durability.when_durable`): a push whose points fail is answered 5xx with the group
unchanged, and the client's retry lands whole.

Departure from the Pushgateway: samples with timestamps are accepted (the Pushgateway refuses
them), because a time-series store has a use for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import msgspec

from weir.durability import when_durable
from weir.errors import InvalidInputError, WeirError
from weir.metrics.model import IngestResult, WirePoint
from weir.metrics.ports import PushGroup, PushGroupStore
from weir.metrics.series import canonical_key, check_dimensions
from weir.metrics.timeutil import NS, ns_to_rfc3339
from weir.wire import prometheus as prom
from weir.wire.shared import ingest_located, raw_dims

log = logging.getLogger(__name__)

PUSH_TIME = "push_time_seconds"
PUSH_FAILURE_TIME = "push_failure_time_seconds"


class GroupStoreMissingError(WeirError):
    status = 501
    code = "not_implemented"


class PushGroupOut(msgspec.Struct):
    labels: dict[str, str]
    last_push: str
    method: str
    metrics: dict[str, list[str]]


class PushGroupList(msgspec.Struct):
    groups: list[PushGroupOut]


class PushService:
    def __init__(self, ingest, groups: PushGroupStore | None, clock: Callable[[], float] = time.time) -> None:
        self.ingest = ingest
        self.groups = groups
        self.clock = clock

    def push(self, method: str, path: str, body: bytes | str) -> IngestResult:
        grouping = self._grouping(path)
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
        except UnicodeDecodeError as exc:
            self._mark(PUSH_FAILURE_TIME, grouping)
            raise InvalidInputError(f"the body is not UTF-8 text (byte {exc.start})") from None
        try:
            decoded = prom.to_points(prom.parse_text(text), grouping)
            if decoded.points:
                result = ingest_located(self.ingest, decoded.points, decoded.rejected, decoded.where)
            else:
                result = IngestResult(0, [])
        except WeirError as exc:
            if exc.status < 500:
                self._mark(PUSH_FAILURE_TIME, grouping)
            raise
        if result.rejected:
            log.warning("push to %s: %d samples rejected, first: %s", canonical_key("", grouping),
                        len(result.rejected), result.rejected[0].error)
        self._mark(PUSH_TIME, grouping)
        group = self._group(method, grouping, decoded, result)
        store = self._store()
        # Membership describes stored points, so it changes only once they (and the push
        # time) are durable; if they fail, it stays as it was and the client's retry lands.
        when_durable(lambda: store.record(group, replace_all=method == "PUT"))
        return result

    def delete(self, path: str) -> bool:
        grouping = self._grouping(path)
        return self._store().delete(canonical_key("", grouping))

    def list_groups(self) -> PushGroupList:
        if self.groups is None:
            raise GroupStoreMissingError(_MISSING)
        out = [PushGroupOut(g.labels, ns_to_rfc3339(g.pushed_ns), g.method, g.members) for g in self.groups.groups()]
        return PushGroupList(out)

    def _store(self) -> PushGroupStore:
        if self.groups is None:
            raise GroupStoreMissingError(_MISSING)
        return self.groups

    def _grouping(self, path: str) -> dict[str, str]:
        if self.groups is None:
            raise GroupStoreMissingError(_MISSING)
        grouping = prom.parse_grouping(path)
        try:
            check_dimensions(grouping)
        except InvalidInputError as exc:
            raise InvalidInputError(f"grouping key: {exc.message}") from None
        return grouping

    def _group(self, method: str, grouping: dict[str, str], decoded: prom.Decoded, result: IngestResult) -> PushGroup:
        bad = {r.index for r in result.rejected}
        members: dict[str, set[str]] = {s.family: set() for s in decoded.samples}
        for i, p in enumerate(decoded.points):
            if p is not None and i not in bad:
                members[decoded.samples[i].family].add(canonical_key(p.name, decoded.dims[i]))
        return PushGroup(
            canonical_key("", grouping), grouping, int(self.clock() * NS), method,
            {f: sorted(keys) for f, keys in members.items()},
        )

    def _mark(self, name: str, grouping: dict[str, str]) -> None:
        point = WirePoint(name, self.clock(), None, "gauge", None, raw_dims(grouping))
        try:
            self.ingest.ingest_points([point], [])
        except WeirError as exc:
            if name == PUSH_TIME:
                raise
            log.error("could not record %s for %s: %s", name, grouping, exc.message)


_MISSING = (
    "the Pushgateway API needs a push-group store, and this deployment has none "
    "(only the local SQLite backend provides one so far)"
)
