"""monotui's header routes: `x-monotui-track: canary` (or `baseline`) reaches one version on
purpose, whatever the weights, so a synthetic probe tests that version. Like Argo Rollouts'
setHeaderRoute, a route matching the header is added ahead of the weighted one and removed when
the rollout ends (rollback, promote) or monotui quits. Pure: the JSON patch ops only.

- Istio: http routes named `monotui-track-canary` / `monotui-track-baseline`, inserted just
  before the weighted route (Istio takes the first route that matches), each with the weighted
  route's matches plus the header and its one destination; the weighted route's other settings
  (timeout, retries, rewrite, headers) are copied so a probe is served like a user.
- Gateway API: rules appended to the HTTPRoute (a header match is more specific than the
  weighted rule's own matches, so it wins wherever it stands; rule indexes stay put), each with
  the weighted rule's matches plus the header, its other settings (filters, timeouts, retry,
  sessionPersistence; not its name) and the one backendRef.

Every add tests the weighted route's destinations as read; every removal tests the whole route
it removes, so a route that someone changed meanwhile is never removed blindly (422, re-read).
"""

from __future__ import annotations

import copy
from typing import Any

from monotui.sources import jsonpatch
from monotui.sources.synthetics.settings import TRACK_HEADER

VALUES = ("canary", "baseline")
"""The header's values, and the role each one reaches."""
ISTIO_PREFIX = "monotui-track-"
_ROLE = {"canary": "canary", "baseline": "stable"}
_NOT_COPIED = ("name", "match", "route", "mirror", "mirrors", "mirrorPercentage", "mirror_percent")
_GATEWAY_OWN = ("name", "matches", "backendRefs")  # a rule's name must be unique in its route


def istio_present(http: list[dict[str, Any]]) -> frozenset[str]:
    """The header values whose Istio route is in `http`."""
    return frozenset(v for v in VALUES for r in http if r.get("name") == ISTIO_PREFIX + v)


def is_istio_track_route(route: Any) -> bool:
    return isinstance(route, dict) and str(route.get("name", "")).startswith(ISTIO_PREFIX)


def istio_ops(
    http: list[dict[str, Any]], index: int, found: dict[str, int], on: bool
) -> list[jsonpatch.Op]:
    """The patch that adds (`on`) or removes the header routes around http route `index`, whose
    destinations are at `found` ({"stable": i, "canary": j}); [] when nothing changes."""
    if not on:
        return _removals("http", [(j, r) for j, r in enumerate(http) if is_istio_track_route(r)])
    weighted = http[index]
    missing = [v for v in VALUES if v not in istio_present(http) and _ROLE[v] in found]
    if not missing:
        return []
    base = ("spec", "http", index)
    ops: list[jsonpatch.Op] = [jsonpatch.test(jsonpatch.pointer(*base, "route"), weighted["route"])]
    if weighted.get("name") is not None:
        ops.append(jsonpatch.test(jsonpatch.pointer(*base, "name"), weighted["name"]))
    elif weighted.get("match") is not None:  # an unnamed route is known by its matches
        ops.append(jsonpatch.test(jsonpatch.pointer(*base, "match"), weighted["match"]))
    for value in reversed(missing):  # each goes in at `index`: the canary's ends up first
        entry = copy.deepcopy(weighted["route"][found[_ROLE[value]]])
        entry.pop("weight", None)  # a lone destination takes every request it matches
        route = {
            "name": ISTIO_PREFIX + value,
            "match": [_istio_match(m, value) for m in weighted.get("match") or [{}]],
            "route": [entry],
            **{k: copy.deepcopy(v) for k, v in weighted.items() if k not in _NOT_COPIED},
        }
        ops.append({"op": "add", "path": jsonpatch.pointer(*base), "value": route})
    return ops


def _istio_match(match: Any, value: str) -> dict[str, Any]:
    match = dict(match) if isinstance(match, dict) else {}
    headers = dict(match.get("headers") or {})
    headers[TRACK_HEADER] = {"exact": value}
    return {**match, "headers": headers}


def gateway_value(rule: Any) -> str | None:
    """The header value a Gateway API rule of ours matches, None for any other rule."""
    matches = rule.get("matches") if isinstance(rule, dict) else None
    if not isinstance(matches, list) or not matches:
        return None
    values = set()
    for match in matches:
        headers = match.get("headers") if isinstance(match, dict) else None
        ours = [
            h.get("value")
            for h in headers or []
            if isinstance(h, dict) and str(h.get("name", "")).lower() == TRACK_HEADER
        ]
        if len(ours) != 1:
            return None
        values.add(ours[0])
    value = values.pop() if len(values) == 1 else None
    return value if value in VALUES else None


def gateway_present(rules: list[Any]) -> frozenset[str]:
    return frozenset(v for r in rules if (v := gateway_value(r)) is not None)


def gateway_ops(
    rules: list[Any], index: int, found: dict[str, int], on: bool, *, grpc: bool = False
) -> list[jsonpatch.Op]:
    """The patch that appends (`on`) or removes the header rules for rule `index`, whose
    backendRefs are at `found`; [] when nothing changes. `grpc`: a GRPCRoute's rules (a match
    has no path there: the header alone matches every method)."""
    if not on:
        return _removals("rules", [(j, r) for j, r in enumerate(rules) if gateway_value(r)])
    weighted = rules[index]
    refs = weighted["backendRefs"]
    missing = [v for v in VALUES if v not in gateway_present(rules) and _ROLE[v] in found]
    if not missing:
        return []
    pinned = jsonpatch.pointer("spec", "rules", index, "backendRefs")
    ops: list[jsonpatch.Op] = [jsonpatch.test(pinned, refs)]
    for key in ("name", "matches"):  # the rule itself, not another one now at its index
        if weighted.get(key) is not None:
            ops.append(
                jsonpatch.test(jsonpatch.pointer("spec", "rules", index, key), weighted[key])
            )
            break
    for value in missing:
        ref = copy.deepcopy(refs[found[_ROLE[value]]])
        ref["weight"] = 1
        every = {} if grpc else {"path": {"type": "PathPrefix", "value": "/"}}
        matches = weighted.get("matches") or [every]
        rule: dict[str, Any] = {"matches": [_gateway_match(m, value) for m in matches]}
        # filters, timeouts, retry, sessionPersistence: a probe is served like a user.
        rule |= {k: copy.deepcopy(v) for k, v in weighted.items() if k not in _GATEWAY_OWN}
        rule["backendRefs"] = [ref]
        ops.append({"op": "add", "path": "/spec/rules/-", "value": rule})
    return ops


def _gateway_match(match: Any, value: str) -> dict[str, Any]:
    match = dict(match) if isinstance(match, dict) else {}
    headers = [h for h in match.get("headers") or [] if isinstance(h, dict)]
    headers.append({"type": "Exact", "name": TRACK_HEADER, "value": value})
    return {**match, "headers": headers}


def _removals(section: str, found: list[tuple[int, Any]]) -> list[jsonpatch.Op]:
    """Test-and-remove each route, the highest index first (a removal shifts those after it)."""
    ops: list[jsonpatch.Op] = []
    for j, route in sorted(found, key=lambda pair: pair[0], reverse=True):
        path = jsonpatch.pointer("spec", section, j)
        ops += [jsonpatch.test(path, route), {"op": "remove", "path": path}]
    return ops
