"""The object store on a local folder: the export destination of `weir serve`.

A put writes a hidden temp file beside the target, fsyncs it and renames it into place
(`os.replace` is atomic on POSIX and Windows), then fsyncs the folder so the rename
itself survives a power cut. Readers that glob the folder (DuckDB, `ls`) therefore see
either the old object or the new one, never half of one; the temp files start with a dot
so globs such as `*.jsonl.gz` and Hive-style readers skip them, and `list` hides them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from weir.errors import InvalidInputError, NotFoundError, StorageError


class FolderObjectStore:
    backend = "folder"

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.url = self.root.as_uri()

    def put(self, key: str, data: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
        # A folder has nowhere to keep content type and encoding; the key's extension says it.
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"could not write {path}: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"no object {key!r} in {self.root}") from None
        except OSError as exc:
            raise StorageError(f"could not read {path}: {exc.strerror or exc}") from exc

    def list(self, prefix: str) -> list[str]:
        # Walk only the folder the prefix names, never the whole tree.
        folder = prefix.rpartition("/")[0]
        base = self.root / folder if folder else self.root
        if folder:
            self._path(folder)  # validates it
        keys = []
        try:
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                rel = Path(dirpath).relative_to(self.root).as_posix()
                for name in filenames:
                    if name.startswith("."):
                        continue
                    key = name if rel == "." else f"{rel}/{name}"
                    if key.startswith(prefix):
                        keys.append(key)
        except OSError as exc:
            raise StorageError(f"could not list {base}: {exc.strerror or exc}") from exc
        return sorted(keys)

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            path = self._path(key)
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise StorageError(f"could not delete {path}: {exc.strerror or exc}") from exc

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
            raise InvalidInputError(
                f"object key {key!r} is not a relative path of /-separated names (no '.', '..' or empty parts)"
            )
        return self.root.joinpath(*parts)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder to fsync it
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
