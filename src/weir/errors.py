"""The project's own exceptions.

Adapters translate driver errors (sqlite3, botocore) into these, so the HTTP layer can map
each to one status code without knowing which backend raised it. Every message is meant
for a person: it says what was wrong and, where possible, what to do instead.
"""

from __future__ import annotations


class WeirError(Exception):
    """Base class; `status` is the HTTP status the API answers with."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInputError(WeirError):
    status = 400
    code = "invalid_input"


class PayloadTooLargeError(WeirError):
    status = 413
    code = "payload_too_large"


class TooManyPointsError(PayloadTooLargeError):
    """A read would load more points than its caller's limit; raised before the points are
    decoded (from chunk metadata), so the refusal costs no memory. `limit` and `points`
    (what was counted when the read stopped) let the caller word its own message."""

    def __init__(self, limit: int, points: int) -> None:
        super().__init__(f"the read would load more than {limit} points (counted {points} when it stopped)")
        self.limit = limit
        self.points = points


class UnsupportedMediaTypeError(WeirError):
    status = 415
    code = "unsupported_media_type"


class NotFoundError(WeirError):
    status = 404
    code = "not_found"


class UnauthorizedError(WeirError):
    status = 401
    code = "unauthorized"


class UnavailableError(WeirError):
    """The service cannot take the request now (starting up, storage failing); retry later."""

    status = 503
    code = "unavailable"


class StorageError(WeirError):
    """A backend failed; nothing of the request was acknowledged."""

    status = 503
    code = "storage_error"


class ConflictError(WeirError):
    """The request clashes with what is stored (a duplicate name, a config-file object)."""

    status = 409
    code = "conflict"


class DeliveryError(WeirError):
    """A notification could not be delivered; the outbox retries it and records why."""

    status = 502
    code = "delivery_failed"


class DamagedDataError(StorageError):
    """A file of the data folder is damaged: the message names it and the way out."""

    code = "damaged_data"


def damaged(path: object, what: str) -> DamagedDataError:
    """The error for damage found in `path` (a file of the data folder): what is wrong, that
    nothing was changed, and the two commands that inspect and salvage the folder."""
    from pathlib import Path

    folder = Path(str(path)).parent
    return DamagedDataError(
        f"{path} is damaged: {what}. Nothing was changed. Run `weir doctor --data-dir {folder}` to see "
        f"what is damaged, then, with the server stopped, `weir repair --data-dir {folder}` to salvage "
        "what can be into fresh files (the damaged ones are kept aside)"
    )
