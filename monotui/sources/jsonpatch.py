"""Building RFC 6902 JSON patches, and the exact text the kubernetes client sends for them.

The client serialises a list body with `json.dumps` and its default separators, so `dumps(ops)` is
byte for byte what goes on the wire: what dry-run prints is what a real write would send.
"""

from __future__ import annotations

import json
from typing import Any

Op = dict[str, Any]


def escape(token: str | int) -> str:
    """A JSON pointer reference token (RFC 6901): `~` and `/` escaped."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """`pointer("spec", "http", 0, "route")` -> "/spec/http/0/route"."""
    return "".join(f"/{escape(t)}" for t in tokens)


def test(path: str, value: Any) -> Op:
    """Fail the whole patch unless `path` holds exactly `value`."""
    return {"op": "test", "path": path, "value": value}


def set_value(path: str, value: Any, *, present: bool) -> Op:
    """`replace` an existing member, `add` a missing one (`replace` of a missing path is a 422)."""
    return {"op": "replace" if present else "add", "path": path, "value": value}


def dumps(ops: list[Op]) -> str:
    """The patch exactly as the kubernetes client puts it on the wire."""
    return json.dumps(ops)
