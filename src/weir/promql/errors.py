"""The errors a PromQL query can end with, carrying Prometheus' `errorType` and HTTP status.

The API answers with Prometheus' envelope (`{"status": "error", "errorType": ..., "error": ...}`);
the three kinds here are the ones Prometheus' own engine raises for bad input, for a query
that cannot be evaluated as asked, and for a query that ran out of time. They are also
`WeirError`s, so code that only knows Weir's errors still maps them to the right status.
"""

from __future__ import annotations

from weir.errors import WeirError


class PromQLError(WeirError):
    """Base class: `error_type` is Prometheus' `errorType`, `status` the HTTP status."""

    error_type = "internal"
    status = 500
    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class BadDataError(PromQLError):
    """The expression or a parameter is malformed (parse errors say where: `1:14: parse error: ...`)."""

    error_type = "bad_data"
    status = 400
    code = "bad_data"


class ExecutionError(PromQLError):
    """The expression is valid but cannot be evaluated on this data (many-to-many matching,
    duplicate label sets, too many samples)."""

    error_type = "execution"
    status = 422
    code = "execution"


class QueryTimeoutError(PromQLError):
    """The query's deadline passed before it finished."""

    error_type = "timeout"
    status = 503
    code = "timeout"
