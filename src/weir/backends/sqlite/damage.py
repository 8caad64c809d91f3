"""Telling damage from other failures, and what the store does when a read meets it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from weir.errors import DamagedDataError, StorageError, damaged
from weir.metrics.series import Series, canonical_key, series_id

from .chunk_check import DECODE_ERRORS


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


class DamageAware:
    """Mixed into the metrics store: damage met by a read is a clear 503 naming the file (not
    a 500), and from then on `problem()`, which `/health` answers with as a 503, says so."""

    path: Path
    _failed: BaseException | None
    _damage: str | None = None

    def problem(self) -> str | None:
        """Why the store cannot serve (its log could not be recovered, a read met damage), or None."""
        failed = self._failed
        return self._damage if failed is None else getattr(failed, "message", None) or str(failed)

    def _checked(self, rows: Iterator) -> Iterator:
        with self._reading():
            yield from rows

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except DECODE_ERRORS as exc:
            raise self._damaged(f"a chunk does not decode ({exc})") from None
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise StorageError(f"the metrics store could not read {self.path}: {exc}") from None
            raise self._damaged(str(exc)) from None

    def _damaged(self, what: str) -> DamagedDataError:
        error = damaged(self.path, what)
        if self._damage is None:
            logging.getLogger(__name__).error("%s", error.message)
        self._damage = error.message
        return error
