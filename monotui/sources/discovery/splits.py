"""Where a VirtualService or an HTTPRoute splits traffic between two weighted destinations. Pure.

A VirtualService qualifies with an http route of exactly two destinations that both carry a
weight and differ by subset (one host) or by host (no subsets); an HTTPRoute with a rule of exactly
two Service backendRefs that both carry a weight. Routes that take only requests matched by header
or query (testers, A/B tests) are the split only when no other route is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from monotui.sources.discovery.infer import roles, short_host
from monotui.sources.kube_router import targeted


@dataclass(frozen=True, slots=True)
class Split:
    """One two-way split, its stable and canary destination decided."""

    route: str | int | None  # the http route's name or index, the rule's index; None: the only one
    label: str  # the route in words: "http route 'primary'", "rule 0"
    by: Literal["subset", "host", "backend"]
    stable: str  # subset name, short host, or backendRef name
    canary: str
    weights: tuple[int, int]  # (stable, canary) as written
    host: str  # subset split: the short host both go to; else the stable's
    host_namespace: str  # where that host lives
    rule: str  # why the stable is the stable
    canary_namespace: str = ""  # a host split: where the canary's host lives ("": host_namespace)


def virtual_service_split(obj: dict[str, Any]) -> Split | str:
    """The split of a VirtualService, or why it has none."""
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    spec = obj.get("spec")
    http = spec.get("http") if isinstance(spec, dict) else None
    if not isinstance(http, list) or not http:
        return "no http route"
    found: list[tuple[bool, Split]] = []
    for i, route in enumerate(http):
        if not isinstance(route, dict):
            continue
        split = _two_destinations(route, i, len(http), namespace)
        if split is not None:
            found.append((targeted(route.get("match")), split))
    return _choose(found, "no http route sends to exactly two weighted destinations")


def _two_destinations(route: dict[str, Any], i: int, count: int, namespace: str) -> Split | None:
    entries = route.get("route")
    if not isinstance(entries, list) or len(entries) != 2:
        return None
    dests: list[dict[str, Any]] = []
    weights: list[int] = []
    for entry in entries:
        dest = entry.get("destination") if isinstance(entry, dict) else None
        weight = entry.get("weight") if isinstance(entry, dict) else None
        if not isinstance(dest, dict) or not dest.get("host") or not _whole(weight):
            return None
        dests.append(dest)
        weights.append(weight)
    hosts = [short_host(str(d["host"]), namespace) for d in dests]
    subsets = [d.get("subset") for d in dests]
    name = route.get("name")
    ident: str | int | None = None if count == 1 else (str(name) if name else i)
    label = f"http route '{name}'" if name else f"http route #{i}"
    by: Literal["subset", "host"]
    if all(isinstance(sub, str) and sub for sub in subsets):
        if hosts[0] != hosts[1] or subsets[0] == subsets[1]:
            return None
        names, by = [str(sub) for sub in subsets], "subset"
    elif not any(subsets):
        if hosts[0] == hosts[1]:
            return None
        names, by = [h[0] for h in hosts], "host"
    else:
        return None
    st, ca, why = roles(names, weights)
    host, host_ns = hosts[st]
    return Split(
        ident,
        label,
        by,
        names[st],
        names[ca],
        (weights[st], weights[ca]),
        host,
        host_ns,
        why,
        hosts[ca][1],
    )


def http_route_split(obj: dict[str, Any]) -> Split | str:
    """The split of an HTTPRoute, or why it has none."""
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    spec = obj.get("spec")
    rules = spec.get("rules") if isinstance(spec, dict) else None
    if not isinstance(rules, list) or not rules:
        return "no rules"
    found: list[tuple[bool, Split]] = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        split = _two_backends(rule, i, len(rules), namespace)
        if split is not None:
            found.append((targeted(rule.get("matches")), split))
    return _choose(found, "no rule sends to exactly two weighted Service backendRefs")


def _two_backends(rule: dict[str, Any], i: int, count: int, namespace: str) -> Split | None:
    refs = rule.get("backendRefs")
    if not isinstance(refs, list) or len(refs) != 2:
        return None
    names: list[str] = []
    weights: list[int] = []
    for ref in refs:
        if not isinstance(ref, dict) or ref.get("kind", "Service") != "Service":
            return None
        if ref.get("group", "") != "" or ref.get("namespace", namespace) != namespace:
            return None  # the router matches backends by name in the route's namespace
        name, weight = ref.get("name"), ref.get("weight")
        if not isinstance(name, str) or not name or not _whole(weight):
            return None
        names.append(name)
        weights.append(weight)
    if names[0] == names[1]:
        return None
    st, ca, why = roles(names, weights)
    where = None if count == 1 else i
    pair = (weights[st], weights[ca])
    return Split(
        where, f"rule {i}", "backend", names[st], names[ca], pair, names[st], namespace, why
    )


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _choose(found: list[tuple[bool, Split]], none: str) -> Split | str:
    general = [split for is_targeted, split in found if not is_targeted]
    chosen = general or [split for _, split in found]
    return chosen[0] if chosen else none
