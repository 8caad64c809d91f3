"""The S3 event decoder on arbitrary input: it reports, it never raises.

Every record ends as exactly one of event, ignored or error, so a bad record can never
take the rest of the batch down with it.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from weir.files.events import parse_notification

EVENTS = Path(__file__).resolve().parent.parent / "events" / "s3"
SAMPLE = json.loads(next(iter(sorted(EVENTS.glob("*.json")))).read_text())

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def accounted(parsed, n_records: int) -> bool:
    seen = [i for i, _ in parsed.events] + [i for i, _ in parsed.ignored] + [i for i, _ in parsed.errors]
    return sorted(seen) == list(range(n_records))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_is_reported_not_raised(event):
    parsed = parse_notification(event)
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        assert accounted(parsed, len(event["Records"]))


def _mutations():
    """A real record with one field replaced by an arbitrary value, at any depth."""
    record = SAMPLE["Records"][0]
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((*path, k))
                walk(v, (*path, k))

    walk(record, ())
    return st.tuples(st.sampled_from(paths), json_values)


@settings(max_examples=300, deadline=None)
@given(st.lists(_mutations(), min_size=1, max_size=4))
def test_damaged_records_fail_alone(mutations):
    good = SAMPLE["Records"][0]
    records = []
    for path, value in mutations:
        rec = json.loads(json.dumps(good))
        node = rec
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        records.append(rec)
    records.append(json.loads(json.dumps(good)))
    parsed = parse_notification({"Records": records})
    assert accounted(parsed, len(records))
    assert any(i == len(records) - 1 for i, _ in parsed.events), "the intact last record still parses"
