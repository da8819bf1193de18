"""VirtualServices, HTTPRoutes and GRPCRoutes that split traffic two ways and that no Rollout or
Canary owns, as discovered rollouts steered by the istio and gateway-api router kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monotui.sources.discovery.found import Backend, Found
from monotui.sources.discovery.infer import host_metrics, prefixed, subset_metrics
from monotui.sources.discovery.rules import DestinationRules
from monotui.sources.discovery.splits import Split, http_route_split, virtual_service_split

OWNER_KINDS = ("Canary", "Rollout")
"""ownerReferences that mean a controller writes the weights: not ours to list again."""


def owned_by_controller(obj: dict[str, Any]) -> str | None:
    """The kind/name of a Canary or Rollout among the object's ownerReferences, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("kind") in OWNER_KINDS:
            return f"{str(ref['kind']).lower()} {ref.get('name')}"
    return None


def virtual_service_found(obj: dict[str, Any], rules: DestinationRules) -> Found | str:
    """The rollout a VirtualService's split is, or why it has none."""
    split = virtual_service_split(obj)
    if isinstance(split, str):
        return split
    found = _found(obj, "virtualservice", "istio", split)
    where = found.owner
    subsets: Mapping[str, Any] = {}
    if split.by == "subset":
        rule = rules.for_host(split.host_namespace, split.host)
        subsets = rule.subsets if rule else {}
        label = rule.label if rule else "no DestinationRule"
        metrics, how = subset_metrics(split.host, split.stable, split.canary, subsets, label)
        kind = "subsets"
    else:
        metrics, how = host_metrics(split.stable, split.canary, where)
        kind = "hosts"
    found.metrics = metrics
    found.source |= prefixed("metrics", how)
    found.backends = _backends(split, subsets, found.namespace)
    found.note("router.stable", f"the {kind} of {split.label} in {where}: {split.rule}")
    found.note("router.canary", f"the other one of {split.label} in {where}")
    if split.host_namespace != found.namespace:
        found.note(
            "metrics.service",
            f"{how['service']}; note: it lives in namespace {split.host_namespace}, but the "
            f"metrics are read in {found.namespace}",
        )
    return found


def http_route_found(obj: dict[str, Any], *, grpc: bool = False) -> Found | str:
    """The rollout an HTTPRoute's split is (a GRPCRoute's with `grpc`: the same rules and
    backendRefs), or why it has none."""
    split = http_route_split(obj)
    if isinstance(split, str):
        return split
    found = _found(obj, "grpcroute" if grpc else "httproute", "gateway-api", split)
    if grpc:
        found.router["route_kind"] = "GRPCRoute"
        found.note("router.route_kind", f"{found.owner} is a GRPCRoute")
    metrics, how = host_metrics(split.stable, split.canary, found.owner)
    found.metrics = metrics
    found.source |= prefixed("metrics", how)
    found.backends = _backends(split, {}, found.namespace)
    found.note("router.stable", f"the backendRefs of {split.label} in {found.owner}: {split.rule}")
    found.note("router.canary", f"the other backendRef of {split.label} in {found.owner}")
    return found


def _found(obj: dict[str, Any], singular: str, kind: str, split: Split) -> Found:
    meta = obj.get("metadata") or {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    where = f"{singular} {namespace}/{name}"
    router: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "stable": split.stable,
        "canary": split.canary,
    }
    labels = meta.get("labels")
    found = Found(
        name=name,
        namespace=namespace,
        owner=where,
        router=router,
        metrics={"kind": "none"},
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
    )
    split_words = (
        "weighted Service backendRefs" if split.by == "backend" else "weighted destinations"
    )
    found.note("router.kind", f"{where} splits {split.label} between two {split_words}")
    if split.route is not None:
        router["route"] = split.route
        found.note("router.route", f"{split.label}: the split (the others route elsewhere)")
    return found


def _backends(split: Split, subsets: Mapping[str, Any], namespace: str) -> tuple[Backend, ...]:
    """The split's Services, canary first, when they live in the route's namespace (where its
    Deployments are looked for); a subset split's pod labels from its DestinationRule."""
    if split.by == "subset":
        if split.host_namespace != namespace:
            return ()
        return tuple(
            Backend(role, split.host, _labels(subsets.get(subset)))
            for role, subset in (("canary", split.canary), ("stable", split.stable))
        )
    canary_ns = split.canary_namespace or split.host_namespace
    if split.host_namespace != namespace or canary_ns != namespace:
        return ()
    return (Backend("canary", split.canary), Backend("stable", split.stable))


def _labels(labels: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}
