"""``metav1.Time`` and ``metav1.MicroTime`` as the apiserver decodes and re-encodes them.

Go parses ``Time`` with RFC 3339 (a fraction is allowed and dropped) and ``MicroTime`` with
``2006-01-02T15:04:05.000000Z07:00``: exactly six fractional digits and a zone, so what Python's
``datetime.isoformat()`` writes for a whole second (``...:05+00:00``) or a naive datetime is
refused with a 400. Both are written back in UTC with a ``Z``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["MICRO_LAYOUT", "TIME_LAYOUT", "TimeFormatError", "normalize_time"]

TIME_LAYOUT = "2006-01-02T15:04:05Z07:00"
MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"
_DATE_PARTS = [
    ("2006", r"\d{4}"),
    ("-", "-"),
    ("01", r"\d{2}"),
    ("-", "-"),
    ("02", r"\d{2}"),
    ("T", "T"),
    ("15", r"\d{2}"),
    (":", ":"),
    ("04", r"\d{2}"),
    (":", ":"),
    ("05", r"\d{2}"),
]
_ZONE = ("Z07:00", r"Z|[+-]\d{2}:\d{2}")


class TimeFormatError(ValueError):
    """Go's ``time.Parse`` error text, e.g. ``cannot parse ".103Z" as ".000000"``."""


def normalize_time(value: object, *, micro: bool) -> str:
    """``value`` re-encoded as the apiserver writes it back; TimeFormatError as Go words it."""
    layout = MICRO_LAYOUT if micro else TIME_LAYOUT
    if not isinstance(value, str):
        raise TimeFormatError(f"parsing time {value!r} as {layout!r}: not a JSON string")
    prefix = f'parsing time "{value}" as "{layout}"'
    rest, fields = value, []
    parts = [*_DATE_PARTS, (".000000", r"\.\d{6}") if micro else ("", r"(?:[.,]\d+)?"), _ZONE]
    for element, pattern in parts:
        m = re.match(pattern, rest)
        if m is None:
            raise TimeFormatError(f'{prefix}: cannot parse "{rest}" as "{element}"')
        fields.append(m.group(0))
        rest = rest[m.end() :]
    if rest:
        raise TimeFormatError(f'parsing time "{value}": extra text: "{rest}"')
    year, month, day, hour, minute, second = (int(fields[i]) for i in (0, 2, 4, 6, 8, 10))
    fraction, zone = fields[11], fields[12]
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if zone == "Z":
        tz = UTC
    else:
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        tz = timezone(-offset if zone[0] == "-" else offset)
    try:
        moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    except ValueError as e:
        raise TimeFormatError(f'parsing time "{value}": {e}') from None
    moment = moment.astimezone(UTC)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
