"""The alert store on DynamoDB: one table, the seed's alert-configuration table (`ALERT_CONFIG_TABLE`).

Rules (the seed's "alert configurations") and everything that hangs off them share the
table, told apart by the partition key (`pk`, string) with `sk` (string) as sort key:

| item          | pk                        | sk                          | holds                                  |
|---------------|---------------------------|-----------------------------|----------------------------------------|
| rule          | `rule`                    | rule id                     | spec JSON, version, state generation   |
| name lock     | `rulename`                | rule name                   | the id of the rule that has the name   |
| state         | `state#<rule>#<gen>`      | hash of the group key       | one (rule, group) state and its version|
| event         | `event`                   | `<ns, 20 digits>#<event id>`| event JSON, targets, delivery statuses |
| rule's event  | `event#<rule>`            | the event's sk              | kind (an index entry for history)      |
| outbox        | `outbox`                  | `<due ns, 20 digits>#<id>`  | one pending delivery, with its event   |
| last delivery | `last#<target>`           | `d`                         | the sk of the newest event to a target |
| subscription  | `sub`                     | subscription id             | source, subscription JSON              |

Every read is a GetItem or a Query on a known partition; nothing Scans. The one-minute
evaluation reads `rule` (one Query) and each rule's states (a GetItem for its generation,
one Query); dispatching reads the head of `outbox` (one Query, oldest due first).

Exactly once, as in SQLite: a change is one TransactWriteItems of a condition check on the
rule (same version and state generation), the state put on condition of its expected
version (`attribute_not_exists` for a first state), the event, its history entry and one
outbox item per target. Two evaluators racing on a group record its transition once.
Departure from SQLite: each group's change is its own transaction (a transaction holds at
most 100 operations, a rule may have thousands of groups), so a rule replaced in the
middle of a `record` keeps the changes recorded before, each of them valid when written.

`reset_states` moves the rule to a new state generation in the same transaction as the
rule, so the old states vanish atomically for readers; their items are deleted after.

Dispatching: `due_deliveries` *claims* each due outbox item by moving it to `now + claim`
(a delete and a put, on condition the item is still there), so two dispatchers running
at once (overlapping scheduled invocations) never send the same delivery twice; a claim
whose dispatcher died becomes due again when it runs out. Marking a delivery done deletes
its outbox item and records the outcome in the event's status map in one transaction.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Collection
from hashlib import blake2b

import msgspec

from weir.errors import ConflictError, StorageError
from weir.metrics.alerts.model import AlertEvent, Delivery, EventOut, Rule, RuleSpec, Subscription
from weir.metrics.alerts.ports import (
    PendingDelivery,
    StateChange,
    StateRecord,
    config_subscriptions_clash,
    rule_name_taken,
)
from weir.metrics.timeutil import NS, ns_to_rfc3339

from .dynamo import MAX_TRANSACT_ITEMS, ConditionFailed, Dynamo

RULE, RULE_NAME, EVENT, OUTBOX, SUBSCRIPTION = "rule", "rulename", "event", "outbox", "sub"
CLAIM_SECONDS = 120.0  # longer than the alerts function's timeout
_DIGITS = 20  # ns since 1970 fit in 19 digits until 2286

_spec = msgspec.json.Decoder(RuleSpec)
_event = msgspec.json.Decoder(AlertEvent)
_sub = msgspec.json.Decoder(Subscription)
_group = msgspec.json.Decoder(dict[str, str])
_encode = msgspec.json.Encoder().encode


def S(value: str) -> dict:
    return {"S": value}


def N(value: int | float) -> dict:
    return {"N": str(value)}


def key(pk: str, sk: str) -> dict:
    return {"pk": S(pk), "sk": S(sk)}


def delivery_id(event_id: str, target: str) -> int:
    """Stable across processes and retries: (event, target) names one delivery."""
    return int.from_bytes(blake2b(f"{event_id}\n{target}".encode(), digest_size=8).digest(), "big") >> 1


def _state_sk(group_key: str) -> str:
    # group keys are JSON of up to 30 dimensions: longer than a sort key may be
    return blake2b(group_key.encode(), digest_size=16).hexdigest()


def _outbox_sk(due_ns: int, did: int) -> str:
    return f"{due_ns:0{_DIGITS}d}#{did}"


class DynamoAlertStore:
    backend = "dynamodb"

    def __init__(
        self,
        client,
        table: str,
        *,
        claim_seconds: float = CLAIM_SECONDS,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.db = Dynamo(client, sleep=sleep)
        self.table = table
        self.claim_ns = int(claim_seconds * NS)
        self._lock = threading.Lock()
        # delivery id → (outbox sk, event sk, target, attempts), from the last claim
        self._claimed: dict[int, tuple[str, str, str, int]] = {}

    # -- small helpers --------------------------------------------------------------------

    def _get(self, k: dict, **kwargs) -> dict | None:
        return self.db.call("get_item", self.table, Key=k, ConsistentRead=True, **kwargs).get("Item")

    def _query(self, pk: str, *, forward: bool = True, limit: int | None = None, **kwargs):
        values = {":pk": S(pk), **kwargs.pop("ExpressionAttributeValues", {})}
        cond = "pk = :pk" + kwargs.pop("sk_condition", "")
        args = {"KeyConditionExpression": cond, "ExpressionAttributeValues": values, "ConsistentRead": True,
                "ScanIndexForward": forward, **kwargs}
        if limit is not None:
            args["Limit"] = limit
        return self.db.query(self.table, **args)

    def _put(self, item: dict, cond: str | None = None, **kwargs) -> dict:
        op = {"TableName": self.table, "Item": item, **kwargs}
        if cond:
            op["ConditionExpression"] = cond
        return {"Put": op}

    def _delete(self, k: dict, cond: str | None = None, **kwargs) -> dict:
        op = {"TableName": self.table, "Key": k, **kwargs}
        if cond:
            op["ConditionExpression"] = cond
        return {"Delete": op}

    # -- rules and states -------------------------------------------------------------------

    def _rule_item(self, rule_id: str) -> dict | None:
        return self._get(key(RULE, rule_id))

    def put_rule(self, rule: Rule, *, reset_states: bool = False) -> None:
        name = rule.spec.name
        for _ in range(self.db.max_attempts):
            old = self._rule_item(rule.id)
            old_gen = int(old["gen"]["N"]) if old else 0
            gen = old_gen + 1 if old and reset_states else old_gen
            item = {**key(RULE, rule.id), "name": S(name), "metric": S(rule.spec.metric),
                    "spec": S(_encode(rule.spec).decode()), "created": N(rule.created_ns),
                    "updated": N(rule.updated_ns), "ver": N(rule.version), "gen": N(gen)}
            if old is None:
                ops = [self._put(item, "attribute_not_exists(pk)")]
            else:  # unchanged since read, or retry
                ops = [self._put(item, "ver = :ov AND gen = :og",
                                 ExpressionAttributeValues={":ov": old["ver"], ":og": old["gen"]})]
            ops.append(self._put({**key(RULE_NAME, name), "rid": S(rule.id)}, "attribute_not_exists(pk) OR rid = :id",
                                 ExpressionAttributeValues={":id": S(rule.id)}))
            old_name = old["name"]["S"] if old else None
            if old_name is not None and old_name != name:
                ops.append(self._delete(key(RULE_NAME, old_name), "rid = :id",
                                        ExpressionAttributeValues={":id": S(rule.id)}))
            codes = self.db.transact(self.table, ops)
            if codes is None:
                break
            if codes[1] == "ConditionalCheckFailed":
                owner = self._get(key(RULE_NAME, name))
                clash = owner["rid"]["S"] if owner else "?"
                raise rule_name_taken(name, clash)
            # the rule changed between our read and write: read again
        else:
            raise StorageError(f"alert rule {rule.id} kept changing while being stored; retry")
        if old is not None and gen != old_gen:
            self._drop_states(rule.id, old_gen)

    def get_rule(self, rule_id: str) -> Rule | None:
        item = self._rule_item(rule_id)
        return _rule(item) if item else None

    def list_rules(self) -> list[Rule]:
        return sorted((_rule(i) for i in self._query(RULE)), key=lambda r: r.spec.name)

    def delete_rule(self, rule_id: str) -> bool:
        old = self._rule_item(rule_id)
        if old is None:
            return False
        codes = self.db.transact(self.table, [
            self._delete(key(RULE, rule_id), "ver = :v AND gen = :g",
                         ExpressionAttributeValues={":v": old["ver"], ":g": old["gen"]}),
            self._delete(key(RULE_NAME, old["name"]["S"]), "rid = :id", ExpressionAttributeValues={":id": S(rule_id)}),
        ])
        if codes is not None:
            if self._rule_item(rule_id) is None:
                return False  # deleted meanwhile by someone else
            raise ConflictError(f"alert rule {rule_id} changed while being deleted; retry")
        self._drop_states(rule_id, int(old["gen"]["N"]))
        return True

    def _drop_states(self, rule_id: str, gen: int) -> None:
        """Delete a state generation nobody reads any more (rule deleted or reset)."""
        doomed = [{"DeleteRequest": {"Key": key(i["pk"]["S"], i["sk"]["S"])}}
                  for i in self._query(f"state#{rule_id}#{gen}", ProjectionExpression="pk, sk")]
        if doomed:
            self.db.batch_write(self.table, doomed)

    def get_states(self, rule_id: str) -> list[StateRecord]:
        item = self._get(key(RULE, rule_id), ProjectionExpression="gen")
        if item is None:
            return []
        states = [_state(i) for i in self._query(f"state#{rule_id}#{item['gen']['N']}")]
        return sorted(states, key=lambda s: s.group_key)

    def record(self, rule_id: str, rule_version: int, changes: list[StateChange]) -> list[AlertEvent]:
        rule = self._rule_item(rule_id)
        if rule is None or int(rule["ver"]["N"]) != rule_version:
            return []  # deleted or changed while it was being evaluated: the next evaluation decides
        gen = rule["gen"]["N"]
        check = {"ConditionCheck": {"TableName": self.table, "Key": key(RULE, rule_id),
                                    "ConditionExpression": "ver = :v AND gen = :g",
                                    "ExpressionAttributeValues": {":v": N(rule_version), ":g": {"N": gen}}}}
        recorded: list[AlertEvent] = []
        for ch in changes:
            ops = [check, self._state_put(rule_id, gen, ch)]
            ev = ch.event
            esk = ""
            if ev is not None:
                esk = f"{(ch.record.last_notified_ns or ch.record.since_ns):0{_DIGITS}d}#{ev.event_id}"
                ops += self._event_ops(rule_id, esk, ev, ch.targets)
            if len(ops) > MAX_TRANSACT_ITEMS:
                raise StorageError(
                    f"alert event {ev.event_id if ev else ''} has {len(ch.targets)} targets; the DynamoDB store "
                    f"records at most {MAX_TRANSACT_ITEMS - 4} per event (too many matching subscriptions)"
                )
            codes = self.db.transact(self.table, ops)
            if codes is not None:
                if codes[0] == "ConditionalCheckFailed":
                    break  # the rule changed meanwhile: the next evaluation decides
                continue  # another evaluator recorded this group first
            if ev is not None:
                recorded.append(ev)
                self._point_last(esk, ch.targets)
        return recorded

    def _state_put(self, rule_id: str, gen: str, ch: StateChange) -> dict:
        rec = ch.record
        item = {**key(f"state#{rule_id}#{gen}", _state_sk(rec.group_key)), "gk": S(rec.group_key),
                "grp": S(_encode(rec.group).decode()), "state": S(rec.state), "since": N(rec.since_ns),
                "reason": S(rec.reason), "ver": N(rec.version)}
        if rec.value is not None:  # as text: a float may lie outside DynamoDB's number range
            item["value"] = S(repr(float(rec.value)))
        if rec.last_notified_ns is not None:
            item["notified"] = N(rec.last_notified_ns)
        if ch.expected_version == 0:
            return self._put(item, "attribute_not_exists(pk)")
        return self._put(item, "ver = :ev", ExpressionAttributeValues={":ev": N(ch.expected_version)})

    def _event_ops(self, rule_id: str, esk: str, ev: AlertEvent, targets: list[str]) -> list[dict]:
        statuses = {t: {"M": {"s": S("pending"), "n": N(0), "nx": N(0)}} for t in targets}
        body = _encode(ev).decode()
        ops = [
            self._put({**key(EVENT, esk), "b": S(body), "kind": S(ev.kind), "rule": S(rule_id),
                       "tg": {"L": [S(t) for t in targets]}, "d": {"M": statuses}}, "attribute_not_exists(pk)"),
            self._put({**key(f"{EVENT}#{rule_id}", esk), "kind": S(ev.kind)}),
        ]
        for t in targets:
            did = delivery_id(ev.event_id, t)
            ops.append(self._put({**key(OUTBOX, _outbox_sk(0, did)), "id": N(did), "esk": S(esk), "t": S(t),
                                  "n": N(0), "e": S(body)}))
        return ops

    def _point_last(self, esk: str, targets: list[str]) -> None:
        """The newest event of each target, for `last_delivery`; only ever moves forward."""
        for t in targets:
            try:
                self.db.call("put_item", self.table, Item={**key(f"last#{t}", "d"), "esk": S(esk)},
                             ConditionExpression="attribute_not_exists(pk) OR esk < :esk",
                             ExpressionAttributeValues={":esk": S(esk)})
            except ConditionFailed:
                pass

    # -- events and the outbox --------------------------------------------------------------

    def events(self, *, rule_id: str | None = None, kind: str | None = None, limit: int = 100) -> list[EventOut]:
        kwargs: dict = {}
        if kind is not None:
            kwargs = {"FilterExpression": "kind = :kind", "ExpressionAttributeValues": {":kind": S(kind)}}
        pk = EVENT if rule_id is None else f"{EVENT}#{rule_id}"
        found = []
        for item in self._query(pk, forward=False, limit=min(limit, 100), **kwargs):
            found.append(item)
            if len(found) == limit:
                break
        if rule_id is not None and found:
            got = {i["sk"]["S"]: i for i in self.db.batch_get(self.table, [key(EVENT, i["sk"]["S"]) for i in found])}
            found = [got[i["sk"]["S"]] for i in found if i["sk"]["S"] in got]
        return [_event_out(i) for i in found]

    def due_deliveries(self, now_ns: int, limit: int = 100, *, skip_targets: Collection[str] = (),
                       skip_ids: Collection[int] = ()) -> list[PendingDelivery]:
        upper = f"{now_ns + 1:0{_DIGITS}d}#"
        out = []
        skip_t, skip_i = set(skip_targets), set(skip_ids)
        for item in self._query(OUTBOX, limit=limit, sk_condition=" AND sk < :upper",
                                ExpressionAttributeValues={":upper": S(upper)}):
            if item["t"]["S"] in skip_t or int(item["id"]["N"]) in skip_i:
                continue
            claimed = self._claim(item, now_ns + self.claim_ns)
            if claimed is not None:
                out.append(claimed)
            if len(out) == limit:
                break
        return out

    def _claim(self, item: dict, until_ns: int) -> PendingDelivery | None:
        did = int(item["id"]["N"])
        new_sk = _outbox_sk(until_ns, did)
        codes = self.db.transact(self.table, [
            self._delete(key(OUTBOX, item["sk"]["S"]), "attribute_exists(pk)"),
            self._put({**item, "sk": S(new_sk)}),
        ])
        if codes is not None:
            return None  # another dispatcher claimed or finished it
        attempts = int(item["n"]["N"])
        with self._lock:
            self._claimed[did] = (new_sk, item["esk"]["S"], item["t"]["S"], attempts)
        return PendingDelivery(did, _event.decode(item["e"]["S"]), item["t"]["S"], attempts)

    def _locate(self, did: int) -> tuple[str, str, str, int] | None:
        with self._lock:
            hit = self._claimed.pop(did, None)
        if hit is not None:
            return hit
        for item in self._query(OUTBOX, FilterExpression="id = :id", ExpressionAttributeValues={":id": N(did)}):
            return item["sk"]["S"], item["esk"]["S"], item["t"]["S"], int(item["n"]["N"])
        return None

    def next_due_ns(self) -> int | None:
        for item in self._query(OUTBOX, limit=1, ProjectionExpression="sk"):
            return int(item["sk"]["S"].partition("#")[0])
        return None

    def deliveries_done(self, delivery_ids: list[int], now_ns: int) -> None:
        by_event: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for did in dict.fromkeys(delivery_ids):
            where = self._locate(did)
            if where is not None:
                by_event[where[1]].append((where[0], where[2]))
        batch: list[dict] = []
        for esk, items in by_event.items():
            names, sets = {}, []
            for i, (_, target) in enumerate(items):
                names[f"#t{i}"] = target
                sets.append(f"d.#t{i}.s = :done, d.#t{i}.n = d.#t{i}.n + :one, d.#t{i}.#at = :now")
            update = {"Update": {"TableName": self.table, "Key": key(EVENT, esk),
                                 "UpdateExpression": "SET " + ", ".join(sets),
                                 "ExpressionAttributeNames": {**names, "#at": "at"},
                                 "ExpressionAttributeValues": {":done": S("delivered"), ":one": N(1),
                                                               ":now": N(now_ns)}}}
            ops = [update] + [self._delete(key(OUTBOX, sk)) for sk, _ in items]
            if len(batch) + len(ops) > MAX_TRANSACT_ITEMS:
                self.db.transact(self.table, batch)
                batch = []
            batch += ops
        if batch:
            self.db.transact(self.table, batch)

    def delivery_failed(self, delivery_id: int, error: str, next_attempt_ns: int | None) -> None:
        where = self._locate(delivery_id)
        if where is None:
            return  # already finished elsewhere
        sk, esk, target, attempts = where
        values = {":s": S("pending" if next_attempt_ns is not None else "failed"), ":one": N(1),
                  ":err": S(error[:2000] or "failed")}
        expr = "SET d.#t.s = :s, d.#t.n = d.#t.n + :one, d.#t.err = :err"
        if next_attempt_ns is not None:
            expr += ", d.#t.nx = :nx"
            values[":nx"] = N(next_attempt_ns)
        else:
            expr += " REMOVE d.#t.nx"
        ops = [{"Update": {"TableName": self.table, "Key": key(EVENT, esk), "UpdateExpression": expr,
                           "ExpressionAttributeNames": {"#t": target}, "ExpressionAttributeValues": values}}]
        new_sk = _outbox_sk(next_attempt_ns, delivery_id) if next_attempt_ns is not None else None
        if new_sk != sk:
            ops.append(self._delete(key(OUTBOX, sk)))
        if new_sk is not None:
            old = self._get(key(OUTBOX, sk))
            if old is not None:  # rescheduled: the same item under its new due time
                ops.append(self._put({**old, "sk": S(new_sk), "n": N(attempts + 1)}))
        self.db.transact(self.table, ops)

    def last_delivery(self, target: str) -> Delivery | None:
        pointer = self._get(key(f"last#{target}", "d"))
        if pointer is None:
            return None
        item = self._get(key(EVENT, pointer["esk"]["S"]))
        if item is None or target not in item["d"]["M"]:
            return None
        return _delivery(target, item["d"]["M"][target]["M"])

    # -- subscriptions ------------------------------------------------------------------------

    def put_subscription(self, sub: Subscription) -> None:
        self.db.call("put_item", self.table, Item=_sub_item(sub))

    def get_subscription(self, sub_id: str) -> Subscription | None:
        item = self._get(key(SUBSCRIPTION, sub_id))
        return _sub.decode(item["b"]["S"]) if item else None

    def list_subscriptions(self) -> list[Subscription]:
        return [_sub.decode(i["b"]["S"]) for i in self._query(SUBSCRIPTION)]

    def delete_subscription(self, sub_id: str) -> bool:
        out = self.db.call("delete_item", self.table, Key=key(SUBSCRIPTION, sub_id), ReturnValues="ALL_OLD")
        return bool(out.get("Attributes"))

    def replace_config_subscriptions(self, subs: list[Subscription]) -> None:
        stored = list(self._query(SUBSCRIPTION, ProjectionExpression="sk, #src",
                                  ExpressionAttributeNames={"#src": "source"}))
        taken = {i["sk"]["S"] for i in stored if i["source"]["S"] == "api"}
        clash = [s.id for s in subs if s.id in taken]
        if clash:
            raise config_subscriptions_clash(clash)
        keep = {s.id for s in subs}
        requests = [{"DeleteRequest": {"Key": key(SUBSCRIPTION, i["sk"]["S"])}} for i in stored
                    if i["source"]["S"] == "config" and i["sk"]["S"] not in keep]
        requests += [{"PutRequest": {"Item": _sub_item(s, "config")}} for s in subs]
        if requests:
            self.db.batch_write(self.table, requests)

    def close(self) -> None:
        return None


def _sub_item(sub: Subscription, source: str | None = None) -> dict:
    return {**key(SUBSCRIPTION, sub.id), "source": S(source or sub.source), "b": S(_encode(sub).decode())}


def _rule(item: dict) -> Rule:
    return Rule(id=item["sk"]["S"], spec=_spec.decode(item["spec"]["S"]), created_ns=int(item["created"]["N"]),
                updated_ns=int(item["updated"]["N"]), version=int(item["ver"]["N"]))


def _state(item: dict) -> StateRecord:
    value = item.get("value")
    notified = item.get("notified")
    return StateRecord(
        group_key=item["gk"]["S"], group=_group.decode(item["grp"]["S"]), state=item["state"]["S"],
        since_ns=int(item["since"]["N"]), reason=item["reason"]["S"],
        value=float(value["S"]) if value else None, last_notified_ns=int(notified["N"]) if notified else None,
        version=int(item["ver"]["N"]),
    )


def _delivery(target: str, d: dict) -> Delivery:
    status = d["s"]["S"]
    nx = int(d["nx"]["N"]) if "nx" in d else None
    at = int(d["at"]["N"]) if "at" in d else None
    return Delivery(
        target=target, status=status, attempts=int(d["n"]["N"]),
        last_error=d["err"]["S"] if "err" in d else None,
        next_attempt=ns_to_rfc3339(nx) if status == "pending" and nx else None,
        delivered_at=ns_to_rfc3339(at) if at else None,
    )


def _event_out(item: dict) -> EventOut:
    statuses = item["d"]["M"]
    targets = [t["S"] for t in item["tg"]["L"]]
    return EventOut(event=_event.decode(item["b"]["S"]),
                    deliveries=[_delivery(t, statuses[t]["M"]) for t in targets if t in statuses])
