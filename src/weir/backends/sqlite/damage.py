"""Telling damage from other failures, and checking the rows the store loads at start-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from weir.errors import damaged
from weir.metrics.series import Series, canonical_key, series_id


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in str(exc) or "not a database" in str(exc)


def series_row(path: Path, row: tuple) -> Series:
    """A stored series row, checked as far as loading it costs nothing more (`weir doctor`
    also checks that its id is its key's hash): a damaged one is a start-up error naming the
    file and the row, not a traceback."""
    sid, name, dims, type_, unit = row
    try:
        dimensions = _dimensions(dims)
    except (msgspec.DecodeError, TypeError) as exc:
        raise damaged(path, f"series row {sid}: its dimensions do not decode ({exc})") from None
    if not isinstance(name, str) or not name or not isinstance(type_, str) or not isinstance(unit, (str, type(None))):
        raise damaged(path, f"series row {sid}: its name, type or unit is not text")
    return Series(sid, name, dimensions, type_, unit)


def series_problem(row: tuple) -> str | None:
    """What is wrong with a series row (id, name, dimensions, type, unit), or None; the full
    check of `weir doctor`, id included."""
    sid, name, dims, type_, unit = row
    try:
        dimensions = _dimensions(dims)
    except (msgspec.DecodeError, TypeError) as exc:
        return f"its dimensions do not decode ({exc})"
    if not isinstance(name, str) or not name or not isinstance(type_, str) or not isinstance(unit, (str, type(None))):
        return "its name, type or unit is not text"
    if series_id(canonical_key(name, dimensions)) != sid:
        return "its id is not the hash of its name and dimensions"
    return None


_dimensions = msgspec.json.Decoder(dict[str, str]).decode
