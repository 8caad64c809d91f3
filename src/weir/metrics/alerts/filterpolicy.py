"""SNS subscription filter policies, evaluated locally with SNS's semantics.

A local webhook subscription carries the same filter-policy JSON an SNS subscription
would, so one configuration routes alerts the same way on a laptop and on AWS. Policies
apply to message attributes (SNS's default `MessageAttributes` scope):

- AND across keys, OR within a key's list of conditions;
- a condition is an exact string, an exact number, or one of `{"prefix": s}`,
  `{"suffix": s}`, `{"equals-ignore-case": s}`, `{"anything-but": v | [v...] | {"prefix": s}
  | {"suffix": s}}`, `{"numeric": [op, n (, op, n)]}`, `{"exists": true|false}`;
- strings match String attributes, numbers and numeric ranges match Number attributes;
- an absent attribute matches only `{"exists": false}` (not even `anything-but`).

Validation mirrors SNS's limits (5 keys, 150 value combinations, numbers within ±1e9 with
five decimals), so a policy accepted here is accepted by SNS. Anything SNS has that this
module does not (`$or`, `cidr`, body scope) is refused with a clear error rather than
silently matching differently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from weir.errors import InvalidInputError

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_NUMBER = 1e9
MAX_POLICY_BYTES = 256 * 1024
_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists")
_LOWER, _UPPER = (">", ">="), ("<", "<=")

Attributes = Mapping[str, "str | float | list[str]"]


class FilterPolicyError(InvalidInputError):
    """A filter policy SNS would refuse; the message names the key and the problem."""


def parse_policy(policy: Any) -> dict[str, list]:
    """Validate a policy (a dict, or JSON text of one) and return it as a dict."""
    if isinstance(policy, (str, bytes)):
        if len(policy) > MAX_POLICY_BYTES:
            raise FilterPolicyError(f"filter_policy: larger than {MAX_POLICY_BYTES} bytes")
        try:
            policy = json.loads(policy)
        except ValueError as exc:
            raise FilterPolicyError(f"filter_policy: not valid JSON ({exc})") from None
    if not isinstance(policy, dict):
        raise FilterPolicyError("filter_policy: must be a JSON object such as {\"severity\": [\"critical\"]}")
    if not policy:
        raise FilterPolicyError("filter_policy: is empty; leave it out to receive every alert")
    if len(policy) > MAX_KEYS:
        raise FilterPolicyError(f"filter_policy: {len(policy)} keys; SNS allows at most {MAX_KEYS}")
    combinations = 1
    for key, conditions in policy.items():
        where = f"filter_policy.{key}"
        if key.startswith("$"):
            raise FilterPolicyError(
                f"{where}: operator keys such as $or are not supported; use one policy per subscription"
            )
        if isinstance(conditions, dict):
            raise FilterPolicyError(
                f"{where}: nested objects filter the message body, which Weir does not support; "
                "filter on message attributes with a list such as [\"critical\"]"
            )
        if not isinstance(conditions, list) or not conditions:
            raise FilterPolicyError(f"{where}: must be a non-empty list of conditions, for example [\"critical\"]")
        for condition in conditions:
            _check_condition(condition, where)
        combinations *= len(conditions)
    if combinations > MAX_COMBINATIONS:
        raise FilterPolicyError(
            f"filter_policy: {combinations} value combinations; SNS allows at most {MAX_COMBINATIONS}"
        )
    return policy


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_number(v: Any, where: str) -> None:
    if not _is_number(v) or not math.isfinite(v):
        raise FilterPolicyError(f"{where}: {v!r} is not a finite number")
    if abs(v) > MAX_NUMBER:
        raise FilterPolicyError(f"{where}: {v!r} is outside the range SNS compares (±{MAX_NUMBER:.0e})")


def _check_string(v: Any, where: str, *, empty: bool = True) -> None:
    if not isinstance(v, str) or (not empty and not v):
        raise FilterPolicyError(f"{where}: expected a{' non-empty' if not empty else ''} string, got {v!r}")


def _check_condition(c: Any, where: str) -> None:
    if isinstance(c, str):
        return
    if _is_number(c):
        _check_number(c, where)
        return
    if not isinstance(c, dict):
        raise FilterPolicyError(
            f"{where}: {json.dumps(c)} is not a condition; use a string, a number or an object such as "
            "{\"prefix\": \"...\"} (true, false and null only work on message bodies)"
        )
    if len(c) != 1:
        raise FilterPolicyError(f"{where}: each condition object has exactly one operator, got {sorted(c)}")
    [(op, arg)] = c.items()
    at = f"{where}.{op}"
    if op in ("prefix", "suffix"):
        _check_string(arg, at, empty=False)
    elif op == "equals-ignore-case":
        _check_string(arg, at)
    elif op == "exists":
        if not isinstance(arg, bool):
            raise FilterPolicyError(f"{at}: must be true or false")
    elif op == "numeric":
        _check_numeric(arg, at)
    elif op == "anything-but":
        _check_anything_but(arg, at)
    else:
        raise FilterPolicyError(f"{where}: unknown operator {op!r}; known: {', '.join(_OPERATORS)}")


def _check_numeric(arg: Any, at: str) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise FilterPolicyError(f"{at}: use [op, number] or [\">\"|\">=\", low, \"<\"|\"<=\", high]")
    ops, nums = arg[0::2], arg[1::2]
    for op in ops:
        if op not in ("=", *_LOWER, *_UPPER):
            raise FilterPolicyError(f"{at}: unknown numeric operator {op!r}; use =, <, <=, > or >=")
    for n in nums:
        _check_number(n, at)
    if len(arg) == 4:
        if ops[0] not in _LOWER or ops[1] not in _UPPER:
            raise FilterPolicyError(f"{at}: a range is a lower bound (> or >=) then an upper bound (< or <=)")
        if not nums[0] < nums[1]:
            raise FilterPolicyError(f"{at}: the lower bound {nums[0]} must be less than the upper bound {nums[1]}")


def _check_anything_but(arg: Any, at: str) -> None:
    if isinstance(arg, dict):
        if len(arg) != 1 or next(iter(arg)) not in ("prefix", "suffix"):
            raise FilterPolicyError(f"{at}: an object here must be {{\"prefix\": s}} or {{\"suffix\": s}}")
        _check_string(next(iter(arg.values())), at, empty=False)
        return
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise FilterPolicyError(f"{at}: give at least one value")
    if all(isinstance(v, str) for v in values):
        return
    if all(_is_number(v) for v in values):
        for v in values:
            _check_number(v, at)
        return
    raise FilterPolicyError(f"{at}: values must be all strings or all numbers")


# -- matching ---------------------------------------------------------------------------


def matches(policy: dict[str, list] | None, attributes: Attributes) -> bool:
    """True when the attributes satisfy every key of the policy (no policy: everything)."""
    if not policy:
        return True
    return all(_key_matches(attributes.get(key), key in attributes, conds) for key, conds in policy.items())


def _values(attr: Any) -> tuple[list[str], list[float]]:
    """An attribute as (string values, number values), so String.Array behaves as SNS does."""
    if isinstance(attr, list):
        return [v for v in attr if isinstance(v, str)], []
    if isinstance(attr, str):
        return [attr], []
    return [], [float(attr)]


def _same_number(a: float, b: float) -> bool:
    return round(a, 5) == round(b, 5)


def _key_matches(attr: Any, present: bool, conditions: list) -> bool:
    if not present:
        return any(isinstance(c, dict) and c.get("exists") is False for c in conditions)
    strings, numbers = _values(attr)
    for c in conditions:
        if isinstance(c, str):
            if c in strings:
                return True
        elif _is_number(c):
            if any(_same_number(n, c) for n in numbers):
                return True
        else:
            [(op, arg)] = c.items()
            if op == "exists":
                if arg:
                    return True
            elif op == "prefix":
                if any(s.startswith(arg) for s in strings):
                    return True
            elif op == "suffix":
                if any(s.endswith(arg) for s in strings):
                    return True
            elif op == "equals-ignore-case":
                if any(s.casefold() == arg.casefold() for s in strings):
                    return True
            elif op == "numeric":
                if any(_in_range(n, arg) for n in numbers):
                    return True
            elif op == "anything-but":
                if _anything_but(arg, strings, numbers):
                    return True
    return False


def _in_range(n: float, spec: list) -> bool:
    for op, bound in zip(spec[0::2], spec[1::2]):
        if op == "=" and not _same_number(n, bound):
            return False
        if (op == ">" and not n > bound) or (op == ">=" and not n >= bound):
            return False
        if (op == "<" and not n < bound) or (op == "<=" and not n <= bound):
            return False
    return True


def _anything_but(arg: Any, strings: list[str], numbers: list[float]) -> bool:
    if isinstance(arg, dict):
        [(op, affix)] = arg.items()
        test = str.startswith if op == "prefix" else str.endswith
        return bool(strings) and not any(test(s, affix) for s in strings)
    excluded = arg if isinstance(arg, list) else [arg]
    if any(s in excluded for s in strings):
        return False
    return not any(_is_number(x) and _same_number(n, x) for n in numbers for x in excluded)
