"""A small model of one S3 bucket's behaviour for the ordering tests: it applies
operations, keeps versions and delete markers the way S3 does, answers HeadObject like S3
(by version, or the current one), and emits the event notification S3 would send for each
operation, with sequencers that grow and change length (`FF`, then `100`) as S3's do.

It is a simulator of the object store, used where the property under test is about the
catalog's ordering; the real S3 adapter is tested against moto.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from weir.files.record import ObjectHead


@dataclass
class Version:
    version_id: str
    etag: str | None  # None: a delete marker
    size: int = 0


@dataclass
class Bucket:
    name: str
    versioned: bool
    region: str = "eu-west-1"
    versions: dict[str, list[Version]] = field(default_factory=dict)
    seq: int = 0xF0  # starts two digits long, soon three
    clock_ms: int = 1_714_564_800_000
    n: int = 0

    def _event(self, name: str, key: str, *, version: str | None, size=None, etag=None) -> dict:
        self.seq += 7
        self.clock_ms += 1
        obj: dict = {"key": quote_plus(key), "sequencer": f"{self.seq:X}"}
        if size is not None:
            obj["size"] = size
            obj["eTag"] = etag
        if version is not None:
            obj["versionId"] = version
        secs, ms = divmod(self.clock_ms, 1000)
        import datetime as dt

        t = dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
        return {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": self.region,
                    "eventTime": t,
                    "eventName": name,
                    "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": self.name}, "object": obj},
                }
            ]
        }

    def put(self, key: str, body: bytes) -> dict:
        self.n += 1
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        vid = f"v{self.n}" if self.versioned else None
        stack = self.versions.setdefault(key, [])
        if not self.versioned:
            stack.clear()
        stack.append(Version(vid or "null", etag, len(body)))
        return self._event("ObjectCreated:Put", key, version=vid, size=len(body), etag=etag)

    def delete(self, key: str) -> dict | None:
        """DeleteObject without a version: a delete marker when versioned."""
        stack = self.versions.get(key, [])
        if not self.versioned:
            if not stack:
                return None
            stack.clear()
            return self._event("ObjectRemoved:Delete", key, version=None)
        self.n += 1
        stack.append(Version(f"m{self.n}", None))
        return self._event("ObjectRemoved:DeleteMarkerCreated", key, version=f"m{self.n}")

    def delete_version(self, key: str, index: int) -> dict | None:
        """DeleteObject with a VersionId: removes that version (or marker) for good."""
        stack = self.versions.get(key, [])
        if not self.versioned or not stack:
            return None
        v = stack.pop(index % len(stack))
        return self._event("ObjectRemoved:Delete", key, version=v.version_id)

    def current(self, key: str) -> Version | None:
        stack = self.versions.get(key) or []
        return stack[-1] if stack and stack[-1].etag is not None else None

    # ObjectSource
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectHead | None:
        stack = self.versions.get(key) or []
        if version_id is None:
            v = self.current(key)
        else:
            v = next((x for x in stack if x.version_id == version_id), None)
        if v is None or v.etag is None:
            return None
        return ObjectHead(
            size=v.size,
            etag=v.etag,
            content_type="application/octet-stream",
            last_modified="2024-05-01T12:00:00.000Z",
            version_id=v.version_id if self.versioned else None,
        )
