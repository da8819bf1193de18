"""Label and field selectors (``labelSelector``/``fieldSelector`` query parameters) on objects."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tests.fakekube.status import ApiError, JsonObj

__all__ = ["object_filter"]

_Requirement = tuple[str, str, frozenset[str]]  # key, "in" | "notin" | "exists" | "!exists"


def _split_terms(selector: str) -> list[str]:
    # Commas inside ``in (a,b)`` do not separate terms.
    terms, depth, current = [], 0, ""
    for ch in selector:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    return [t.strip() for t in [*terms, current] if t.strip()]


def _parse_selector(selector: str | None) -> list[_Requirement]:
    """Label (``a=b,c!=d,e in (x,y),!f``) or field (``metadata.name=x``) selector."""
    reqs: list[_Requirement] = []
    for term in _split_terms(selector or ""):
        if m := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\((.*)\)", term):
            reqs.append((m[1], m[2], frozenset(v.strip() for v in m[3].split(","))))
        elif m := re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)", term):
            reqs.append((m[1], "notin" if m[2] == "!=" else "in", frozenset([m[3]])))
        elif m := re.fullmatch(r"(!?)([\w./-]+)", term):
            reqs.append((m[2], m[1] + "exists", frozenset()))
        else:
            raise ApiError(400, f"unable to parse requirement: {term!r}")
    return reqs


def _selects(
    reqs: list[_Requirement], obj: JsonObj, lookup: Callable[[JsonObj, str], str | None]
) -> bool:
    for key, op, values in reqs:
        value = lookup(obj, key)
        if (
            op == "in"
            and value not in values
            or op == "notin"
            and value in values
            or op == "exists"
            and value is None
            or op == "!exists"
            and value is not None
        ):
            return False
    return True


def _label(obj: JsonObj, key: str) -> str | None:
    labels = obj.get("metadata", {}).get("labels") or {}
    value = labels.get(key)
    return None if value is None else str(value)


def _field_path(obj: JsonObj, path: str) -> str | None:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            # A cluster-scoped object has namespace "" for field selectors, not "absent".
            return "" if path == "metadata.namespace" else None
        node = node[part]
    return None if node is None else str(node)


def object_filter(query: Mapping[str, str]) -> Callable[[JsonObj], bool]:
    """A predicate for the objects the query's selectors select; 400 for a bad selector."""
    labels = _parse_selector(query.get("labelSelector"))
    fields = _parse_selector(query.get("fieldSelector"))
    return lambda obj: _selects(labels, obj, _label) and _selects(fields, obj, _field_path)
