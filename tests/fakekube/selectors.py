"""Label and field selectors (``labelSelector``/``fieldSelector`` query parameters) on objects.

Field selectors accept only the field labels the real server supports for the resource
(``metadata.name`` and ``metadata.namespace`` everywhere, more for Events, Pods, ...), with its
400 for any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tests.fakekube.apis import Resource
from tests.fakekube.status import ApiError, JsonObj

__all__ = ["object_filter"]

_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
# (group, plural) -> field labels beyond metadata.name and metadata.namespace
_FIELD_LABELS: dict[tuple[str, str], frozenset[str]] = {
    ("", "events"): frozenset(
        [f"involvedObject.{f}" for f in _INVOLVED]
        + ["reason", "reportingComponent", "source", "type"]
    ),
    ("events.k8s.io", "events"): frozenset(
        [f"regarding.{f}" for f in _INVOLVED] + ["reason", "reportingController", "type"]
    ),
    ("", "pods"): frozenset(
        [
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ]
    ),
    ("", "namespaces"): frozenset(["status.phase"]),
    ("", "secrets"): frozenset(["type"]),
    ("", "services"): frozenset(["spec.clusterIP", "spec.type"]),
}
_FIELD_ALIASES = {"source": "source.component"}

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


def _check_field_labels(reqs: list[_Requirement], res: Resource) -> list[_Requirement]:
    extra = _FIELD_LABELS.get((res.group, res.plural), frozenset())
    for key, _, _ in reqs:
        if key in ("metadata.name", "metadata.namespace") or key in extra:
            continue
        if res.group == "":
            raise ApiError(400, f"field label not supported: {key}")
        raise ApiError(
            400,
            f'"{key}" is not a known field selector: only "metadata.name", "metadata.namespace"',
        )
    return [(_FIELD_ALIASES.get(k, k), op, v) for k, op, v in reqs]


def object_filter(
    query: Mapping[str, str], res: Resource | None = None
) -> Callable[[JsonObj], bool]:
    """A predicate for the objects (as served) the query's selectors select; 400 if bad.

    With ``res``, field labels the real server does not support for it are refused.
    """
    labels = _parse_selector(query.get("labelSelector"))
    fields = _parse_selector(query.get("fieldSelector"))
    if res is not None:
        fields = _check_field_labels(fields, res)
    return lambda obj: _selects(labels, obj, _label) and _selects(fields, obj, _field_path)
