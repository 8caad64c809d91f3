"""`weir backup` and `weir restore`: every store of a data folder, consistent, while serving.

A backup copies each store (`integrity.STORES`) with SQLite's online backup API in a single
step: the copy is one read transaction of the source, so it is a consistent snapshot of that
file even while `weir serve` writes (in WAL mode the writer is never blocked; it appends to
the WAL meanwhile). The metrics store's snapshot includes its write-ahead log rows, so every
point acknowledged before the copy began is in it. Files are snapshotted one after another:
each is consistent in itself, not at one instant with the others (Pushgateway group
membership may then name a point stored just after the metrics snapshot; the next push
corrects it). Each copy is checked (`integrity`) before the backup is declared done.

A restore needs the server stopped (it takes the folder's lock), checks the backup first,
moves any store it replaces aside into `<data-dir>/replaced-<time>/` (never deletes it),
and puts each file in place by rename, after an fsync.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from weir.errors import InvalidInputError, StorageError

from .folder_lock import exclusive
from .integrity import STORES, check_file

MANIFEST = "weir-backup.json"


@dataclass(frozen=True)
class Copied:
    file: str
    bytes: int


def backup_folder(data_dir: Path, dest: Path) -> list[Copied]:
    """Snapshot every store of `data_dir` into the new or empty folder `dest`."""
    stores = [name for name in STORES if (data_dir / name).exists()]
    if not stores:
        raise InvalidInputError(f"no Weir stores in {data_dir}; is --data-dir the folder `weir serve` uses?")
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInputError(f"{dest} is not empty; back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in stores:
        partial = dest / f"{name}.partial"
        _snapshot(data_dir / name, partial)
        problems = check_file(partial)
        if problems:
            partial.unlink()
            raise StorageError(f"the copy of {data_dir / name} does not check clean ({problems[0].problem}); "
                               f"run `weir doctor --data-dir {data_dir}`")
        os.replace(partial, dest / name)
        copied.append(Copied(name, (dest / name).stat().st_size))
    manifest = {"created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "source": str(data_dir.resolve()),
                "files": {c.file: c.bytes for c in copied}}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync_dir(dest)
    return copied


def restore_folder(source: Path, data_dir: Path, *, now: datetime | None = None) -> tuple[list[str], Path | None]:
    """Put the backup in `source` in place in `data_dir` (server stopped): (files restored, where the
    files they replaced were moved, or None)."""
    if not (source / MANIFEST).is_file():
        raise InvalidInputError(f"{source} is not a Weir backup (no {MANIFEST}); make one with `weir backup`")
    files = [name for name in json.loads((source / MANIFEST).read_text())["files"] if name in STORES]
    for name in files:
        problems = check_file(source / name)
        if problems:
            raise StorageError(f"the backup's {name} is damaged ({problems[0].problem}); nothing was restored")
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = exclusive(data_dir / "metrics.lock")
    try:
        replaced = _move_aside(data_dir, now or datetime.now(UTC))
        for name in files:
            incoming = data_dir / f"{name}.restoring"
            _snapshot(source / name, incoming)
            os.replace(incoming, data_dir / name)
        _fsync_dir(data_dir)
    finally:
        lock.close()
    return files, replaced


def _snapshot(src_path: Path, dst_path: Path) -> None:
    dst_path.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(dst_path)
    try:
        src.backup(dst, pages=-1)  # one step: one read transaction of the source
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        raise StorageError(f"could not copy {src_path}: {exc}") from None
    finally:
        dst.close()
        src.close()
    fd = os.open(dst_path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_aside(data_dir: Path, now: datetime) -> Path | None:
    present = [p for name in STORES for p in data_dir.glob(f"{name}*") if p.is_file()]
    if not present:
        return None
    aside = data_dir / f"replaced-{now.strftime('%Y%m%dT%H%M%SZ')}"
    aside.mkdir()
    for p in present:
        os.replace(p, aside / p.name)
    return aside


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
