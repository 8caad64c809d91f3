"""Loading the recorded events of tests/events/s3."""

from __future__ import annotations

import json
from pathlib import Path

EVENTS = Path(__file__).resolve().parent.parent / "events" / "s3"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))
