"""Times and spans a user types: RFC 3339 (2026-12-01T10:00:00Z), relative to now (-2h, -30m,
now), and Prometheus durations (90s, 1h30m). Pure; errors are ValueError with what was expected."""

from __future__ import annotations

import math
import re
from datetime import datetime

_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"(?:\d+(?:ms|s|m|h|d|w|y))+")
MAX_SPAN_S = 366 * 86400.0


def duration_s(text: str) -> float:
    """A Prometheus duration ("1m", "1h30m", "500ms") in seconds, above 0 and at most a year."""
    value = text.strip()
    if not _DURATION.fullmatch(value):
        raise ValueError(f"'{text}' is not a duration such as 30s, 10m or 2h")
    total = sum(float(n) * _UNITS_S[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", value))
    if not 0 < total <= MAX_SPAN_S:
        raise ValueError(f"'{text}' must be above 0 and at most a year")
    return total


def moment(text: str, now: float) -> float:
    """A point in time as POSIX seconds: "now", "-2h" (before `now`), or RFC 3339 with a zone."""
    value = text.strip()
    if value == "now":
        return now
    if value.startswith("-"):
        return now - duration_s(value[1:])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"'{text}' is not a time: use RFC 3339 (2026-12-01T10:00:00Z), now, or -2h"
        ) from None
    if parsed.tzinfo is None:
        raise ValueError(f"'{text}' has no time zone: add Z or +01:00")
    stamp = parsed.timestamp()
    if not math.isfinite(stamp):
        raise ValueError(f"'{text}' is out of range")
    return stamp
