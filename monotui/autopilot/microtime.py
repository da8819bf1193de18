"""`metav1.MicroTime` as the API server wants it: UTC, exactly six fractional digits and a `Z`
("2026-01-01T00:00:05.000000Z"). Python's `isoformat()` writes no fraction for a whole second and
no zone for a naive datetime, and the API server refuses both with a 400, so Lease times are
formatted here and sent as strings (never as datetimes the client would format)."""

from __future__ import annotations

from datetime import UTC, datetime

LAYOUT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_micro(t: float) -> str:
    """POSIX seconds as a MicroTime string."""
    return datetime.fromtimestamp(t, UTC).strftime(LAYOUT)


def parse_time(value: object) -> float | None:
    """A Time or MicroTime string (any RFC 3339 the server may write) as POSIX seconds; None
    when it is missing or not a time (a Lease written by hand)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:  # the server never writes these; read them as UTC, not local
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
