"""Names and tags: every resource carries the environment suffix and the same four tags.

Physical names are left to Pulumi's auto-naming (logical name + a random suffix), so a
replacement can create the new resource before deleting the old one, except where a name
is part of a contract: the functions and their log groups (the stack creates
`/aws/lambda/<function>` before the function, so Lambda never creates it with unlimited
retention), the topic (its ARN appears in the key policy it is encrypted with), and the
API stage (named after the environment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PROJECT = "weir"
_ENV_RE = re.compile(r"[a-z][a-z0-9-]{0,15}\Z")
# Tag keys, in the spelling cost reports group by.
TAG_ENVIRONMENT, TAG_PROJECT, TAG_OWNER, TAG_COST_CENTRE = "environment", "project", "owner", "cost-centre"


def check_environment(environment: str) -> str:
    if not _ENV_RE.match(environment or ""):
        raise ValueError(
            f"environment {environment!r}: use 1-16 lower-case letters, digits or '-', starting with a "
            "letter (it becomes part of bucket, table and function names)"
        )
    return environment


def name(unit: str, environment: str) -> str:
    """The logical name of a resource: `weir-<unit>-<environment>`."""
    return f"{PROJECT}-{unit}-{environment}"


def function_name(function: str, environment: str) -> str:
    return name(function, environment)


def log_group_name(function: str, environment: str) -> str:
    """Where Lambda writes a function's logs; the stack creates it first, with retention."""
    return f"/aws/lambda/{function_name(function, environment)}"


def topic_name(environment: str) -> str:
    return name("alerts", environment)


def tags(environment: str, owner: str, cost_centre: str) -> dict[str, str]:
    return {TAG_ENVIRONMENT: environment, TAG_PROJECT: PROJECT, TAG_OWNER: owner, TAG_COST_CENTRE: cost_centre}


def merged(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    return {**base, **extra}
