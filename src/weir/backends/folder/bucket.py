"""A local folder standing in for an S3 bucket: keys are paths relative to its root.

`head` plays HeadObject: size and modification time from `stat`, an S3-style ETag (MD5 of
the content, which is what S3 gives single-part uploads) and a SHA-256 checksum computed
in the same read, the content type guessed from the name, and user metadata from `user.*`
extended attributes where the file system has them. Only regular files are objects;
symbolic links to directories are not followed.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from weir.files.record import ObjectHead, iso_from_ns

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class DiskEntry:
    key: str
    size: int
    last_modified: str


class LocalFolder:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def path_of(self, key: str) -> Path | None:
        """The file of a key, or None when the key cannot name a file inside the root."""
        if not key or "\x00" in key or key.startswith("/"):
            return None
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
            return None
        return self.root.joinpath(*parts)

    def key_of(self, path: str | os.PathLike) -> str | None:
        try:
            rel = Path(path).relative_to(self.root)
        except ValueError:
            return None
        key = rel.as_posix()
        return None if key in ("", ".") else key

    def entry(self, key: str) -> DiskEntry | None:
        path = self.path_of(key)
        if path is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return DiskEntry(key, st.st_size, iso_from_ns(st.st_mtime_ns))

    def is_dir(self, key: str) -> bool:
        path = self.path_of(key)
        return path is not None and path.is_dir() and not path.is_symlink()

    def walk(self, under: str = "") -> Iterator[DiskEntry]:
        """Every regular file below the root (or below the folder `under`)."""
        start = self.path_of(under) if under else self.root
        if start is None:
            return
        stack = [start]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError:
                continue
            for e in entries:
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
                    elif e.is_file():
                        st = e.stat()
                        key = self.key_of(e.path)
                        if key is not None:
                            yield DiskEntry(key, st.st_size, iso_from_ns(st.st_mtime_ns))
                except OSError:
                    continue  # vanished while walking

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectHead | None:
        path = self.path_of(key)
        if path is None:
            return None
        md5 = hashlib.md5(usedforsecurity=False)
        sha = hashlib.sha256()
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode):
                    return None
                while chunk := f.read(_CHUNK):
                    md5.update(chunk)
                    sha.update(chunk)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
            return None
        ctype, _ = mimetypes.guess_type(path.name)
        return ObjectHead(
            size=st.st_size,
            etag=md5.hexdigest(),
            content_type=ctype or "application/octet-stream",
            last_modified=iso_from_ns(st.st_mtime_ns),
            checksum={"SHA256": base64.b64encode(sha.digest()).decode()},
            user_metadata=_xattrs(path),
        )


def _xattrs(path: Path) -> dict[str, str]:
    if not hasattr(os, "listxattr"):
        return {}
    out: dict[str, str] = {}
    try:
        for name in os.listxattr(path):
            if name.startswith("user."):
                out[name[5:]] = os.getxattr(path, name).decode("utf-8", "replace")
    except OSError:
        return {}
    return out
