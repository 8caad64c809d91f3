"""Resource names, all with the environment suffix; table and env-var names come from
`weir.config`, the module the runtime reads them from, so the two cannot drift."""

from __future__ import annotations

import re

from weir import config

_ENV_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,15}\Z")


def check_environment(environment: str) -> str:
    if not _ENV_RE.match(environment or ""):
        raise ValueError(
            f"environment {environment!r}: use 1-16 lower-case letters, digits or '-' "
            "(it becomes part of bucket and table names)"
        )
    return environment


def table(environment: str) -> str:
    return config.files_table_name(environment)


def function(environment: str) -> str:
    return f"weir-file-indexer-{environment}"


def dlq(environment: str) -> str:
    return f"weir-file-indexer-dlq-{environment}"


def alarm(environment: str) -> str:
    return f"weir-file-indexer-dlq-depth-{environment}"


def topic(environment: str) -> str:
    return f"weir-files-alarms-{environment}"


def key_alias(environment: str) -> str:
    return f"alias/weir-files-{environment}"


def bucket(environment: str, account: str, region: str) -> str:
    return f"weir-files-{environment}-{account}-{region}"


def log_bucket(environment: str, account: str, region: str) -> str:
    return f"weir-files-logs-{environment}-{account}-{region}"
