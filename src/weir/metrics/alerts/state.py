"""The alarm state machine: OK, ALARM, INSUFFICIENT_DATA, with CloudWatch's semantics.

Pure functions over the datapoints of one evaluation. The rules follow the CloudWatch
user guide ("How alarm state is evaluated when data is missing"), and the tests check
every row of its two example tables:

- The evaluation *range* is M + 2 periods, more than the M evaluation periods, so that a
  few missing periods can be skipped over (CloudWatch fetches 5 datapoints for M = 3).
- If the range holds at least M real datapoints, the most recent M of them are judged and
  the missing-data setting is not used: ALARM when at least N breach, else OK.
- With no real datapoint at all: `missing` → INSUFFICIENT_DATA, `ignore` → keep the
  current state, `breaching` → ALARM, `not_breaching` → OK.
- With 1..M-1 real datapoints, every real one counts and the rest are filled in:
  `breaching` fills with breaching points, `not_breaching` with good ones. `ignore` and
  `missing` judge the real points alone when that settles it (N real breaches → ALARM;
  any real non-breaching point → OK). Otherwise `ignore` keeps the current state and
  `missing` goes to INSUFFICIENT_DATA -- except that, as the guide's last example shows,
  `missing` alarms when the oldest period of the range is a real breaching point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weir.metrics.alerts.model import EventKind, State

EXTRA_PERIODS = 2

_WORDS = {">": "greater than", ">=": "greater than or equal to", "<": "less than", "<=": "less than or equal to"}


def evaluation_range(m: int) -> int:
    return m + EXTRA_PERIODS


def breaches(value: float, comparison: str, threshold: float) -> bool:
    if comparison == ">":
        return value > threshold
    if comparison == ">=":
        return value >= threshold
    if comparison == "<":
        return value < threshold
    if comparison == "<=":
        return value <= threshold
    raise ValueError(f"unknown comparison {comparison!r}")


@dataclass(frozen=True, slots=True)
class Decision:
    state: State
    reason: str
    value: float | None  # the most recent real datapoint of the range


def decide(
    datapoints: Sequence[float | None],
    *,
    comparison: str,
    threshold: float,
    m: int,
    n: int,
    missing: str,
    current: State,
) -> Decision:
    """The new state from the datapoints of the evaluation range, oldest first (None = missing)."""
    flags = [None if v is None else breaches(v, comparison, threshold) for v in datapoints]
    real = [(v, f) for v, f in zip(datapoints, flags) if v is not None and f is not None]
    k = len(real)
    latest = real[-1][0] if real else None
    cmp_text = f"{_WORDS[comparison]} the threshold ({_num(threshold)})"
    if k >= m:
        used = real[-m:]
        b = sum(1 for _, f in used if f)
        shown = ", ".join(_num(v) for v, _ in used)
        verdict: State = "ALARM" if b >= n else "OK"
        head = "Threshold crossed" if verdict == "ALARM" else "Threshold not crossed"
        return Decision(verdict, f"{head}: {b} of the last {m} datapoints [{shown}] were {cmp_text}", latest)
    if k == 0:
        by_treatment: dict[str, State] = {
            "missing": "INSUFFICIENT_DATA", "ignore": current, "breaching": "ALARM", "not_breaching": "OK"
        }
        state = by_treatment[missing]
        return Decision(state, f"No datapoints in the last {len(flags)} periods (missing data: {missing})", None)
    b = sum(1 for _, f in real if f)
    fill = m - k
    shown = ", ".join(_num(v) for v, _ in real)
    base = f"{b} of {k} datapoints [{shown}] were {cmp_text}, {fill} of the last {m} missing"
    if missing == "breaching":
        state = "ALARM" if b + fill >= n else "OK"
        return Decision(state, f"{base} (treated as breaching)", latest)
    if missing == "not_breaching":
        return Decision("ALARM" if b >= n else "OK", f"{base} (treated as not breaching)", latest)
    if b >= n:
        return Decision("ALARM", f"Threshold crossed: {base}", latest)
    if b < k:
        return Decision("OK", f"Threshold not crossed: {base}", latest)
    if missing == "ignore":
        return Decision(current, f"{base}; state kept (missing data: ignore)", latest)
    if flags[0] is not None:
        return Decision("ALARM", f"{base}; the oldest datapoint of the range breached", latest)
    return Decision("INSUFFICIENT_DATA", f"{base}; not enough data to decide", latest)


def event_kind(
    previous: str, new: str, *, last_notified_ns: int | None, now_ns: int, renotify_ns: int | None
) -> EventKind | None:
    """What, if anything, this evaluation must notify: a transition or a reminder in ALARM."""
    if new != previous:
        return "transition"
    if (
        new == "ALARM"
        and renotify_ns
        and last_notified_ns is not None
        and now_ns - last_notified_ns >= renotify_ns
    ):
        return "renotify"
    return None


def _num(v: float) -> str:
    return f"{v:.6g}"
