"""Limits on what one request may carry; shared by the decoder, the API and the docs."""

from __future__ import annotations

import re

MAX_POINTS_PER_REQUEST = 10_000
MAX_BODY_BYTES = 6 * 1024 * 1024  # API Gateway's own payload limit for Lambda proxies
# The request line and headers of `weir serve` (the body has MAX_BODY_BYTES): longer ones
# are refused before they are buffered (weir.http.protocol). Longer queries go in a body.
MAX_URL_BYTES = 32 * 1024
MAX_HEAD_BYTES = 64 * 1024
MAX_DIMENSIONS = 30
MAX_NAME_LENGTH = 255
MAX_DIM_KEY_LENGTH = 128
MAX_DIM_VALUE_LENGTH = 256
MAX_UNIT_LENGTH = 64
MAX_FUTURE_SECONDS = 600
DEFAULT_RETENTION_SECONDS = 30 * 86_400  # the seed's 30-day TTL: raw points
# rollups outlive the points, as CloudWatch's 1-minute and 1-hour data do
DEFAULT_MINUTE_RETENTION_SECONDS = 90 * 86_400
DEFAULT_HOUR_RETENTION_SECONDS = 455 * 86_400

# No '/' in names: metric names are path segments of the API (`/metrics/{name}`).
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]*\Z")
DIM_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
DIM_VALUE_RE = re.compile(r"[^\x00-\x1f\x7f]+\Z")

NAME_RULE = f"1-{MAX_NAME_LENGTH} characters: a letter or '_', then letters, digits, '_', '.', ':' or '-'"
DIM_KEY_RULE = f"1-{MAX_DIM_KEY_LENGTH} characters: a letter or '_', then letters, digits, '_', '.' or '-'"
DIM_VALUE_RULE = f"1-{MAX_DIM_VALUE_LENGTH} characters, no control characters"
