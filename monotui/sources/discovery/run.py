"""One discovery run: list the kinds in scope, turn each into rollouts, attach flags (the
OpenFeature operator's binding of their pods first, then the name/label guess), and make
the names unique (a config's rollout names are; the same name in two namespaces becomes
"namespace/name")."""

from __future__ import annotations

from collections import Counter
from typing import Any

from monotui.sources.discovery.argo import rollout_found
from monotui.sources.discovery.flagger import canary_found
from monotui.sources.discovery.flags import attach_flags
from monotui.sources.discovery.found import Discovery, Found
from monotui.sources.discovery.lister import (
    CANARIES,
    DESTINATION_RULES,
    FEATURE_FLAG_SOURCES,
    FEATURE_FLAGS,
    GRPC_ROUTES,
    HTTP_ROUTES,
    ROLLOUTS,
    VIRTUAL_SERVICES,
    Lister,
)
from monotui.sources.discovery.meshes import (
    http_route_found,
    owned_by_controller,
    virtual_service_found,
)
from monotui.sources.discovery.openfeature import Binding, attach_bound, bind, wants_sources
from monotui.sources.discovery.rules import DestinationRules
from monotui.sources.discovery.workloads import pod_templates
from monotui.sources.kube import KubeConnection


def discover(kube: KubeConnection, namespace: str | None) -> Discovery:
    """Every rollout in `namespace` (None: all namespaces), each once, sorted by namespace and
    name. Forbidden kinds are skipped with a line; unreachable clusters raise typed errors."""
    lister = Lister(kube, namespace)
    rollouts = lister.objects(ROLLOUTS)
    canaries = lister.objects(CANARIES)
    services = lister.objects(VIRTUAL_SERVICES)
    rules = DestinationRules(lister.objects(DESTINATION_RULES))
    routes = lister.objects(HTTP_ROUTES)
    grpc_routes = lister.objects(GRPC_ROUTES)
    flags = lister.objects(FEATURE_FLAGS)
    found: list[Found] = []
    passed: list[str] = []

    def take(what: str, obj: dict[str, Any], result: Found | str) -> None:
        if isinstance(result, Found):
            found.append(result)
        else:
            meta = obj.get("metadata") or {}
            passed.append(f"{what} {meta.get('namespace')}/{meta.get('name')}: {result}")

    for obj in rollouts:
        take("rollout", obj, rollout_found(obj, rules))
    for obj in canaries:
        take("canary", obj, canary_found(obj))
    owned = {ref for f in found for ref in f.owns}
    for plural, singular, objects in (
        ("virtualservices", "virtualservice", services),
        ("httproutes", "httproute", routes),
        ("grpcroutes", "grpcroute", grpc_routes),
    ):
        for obj in objects:
            meta = obj.get("metadata") or {}
            ref = (plural, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            owner = owned_by_controller(obj)
            if ref in owned or owner:
                passed.append(f"{singular} {ref[1]}/{ref[2]}: steered by {owner or 'its owner'}")
                continue
            if plural == "virtualservices":
                take(singular, obj, virtual_service_found(obj, rules))
            else:
                take(singular, obj, http_route_found(obj, grpc=plural == "grpcroutes"))
    bindings = _bindings(lister, found, flags)
    bound = attach_bound(found, bindings, lister.finder(FEATURE_FLAGS, flags))
    attach_flags([f for i, f in enumerate(found) if i not in bound], flags)
    found.sort(key=lambda f: (f.namespace, f.name))
    _unique_names(found)
    return Discovery(
        scope=lister.scope,
        found=found,
        skipped=lister.skipped,
        absent=lister.absent,
        passed=passed,
    )


def _bindings(
    lister: Lister, found: list[Found], flags: list[dict[str, Any]]
) -> dict[int, Binding]:
    """The operator binding of each rollout whose pods are known, by its index in `found`.
    FeatureFlagSources are listed once, and only when needed."""
    listed: list[list[dict[str, Any]]] = []

    def sources() -> list[dict[str, Any]]:
        if not listed and FEATURE_FLAGS.rbac in lister.absent:
            # Served with FeatureFlags (v0.5 and later) or not at all: no request to learn it.
            lister.absent.append(FEATURE_FLAG_SOURCES.rbac)
            listed.append([])
        if not listed:
            listed.append(lister.objects(FEATURE_FLAG_SOURCES))
        return listed[0]

    templates = pod_templates(lister, found, flags, sources)
    wanted = any(wants_sources(values) for _, values in templates.values())
    source_of = lister.finder(FEATURE_FLAG_SOURCES, sources() if wanted else [])
    bindings: dict[int, Binding] = {}
    for i, (what, values) in templates.items():
        binding = bind(values, found[i].namespace, what, source_of)
        if binding is not None:
            bindings[i] = binding
    return bindings


def _unique_names(found: list[Found]) -> None:
    counts = Counter(f.name for f in found)
    seen: Counter[str] = Counter()
    for f in found:
        if counts[f.name] > 1:
            base = f"{f.namespace}/{f.name}"
            seen[base] += 1
            new = base if seen[base] == 1 else f"{base}#{seen[base]}"
            f.note("name", f"{f.name} is found in several places: named {new} to tell them apart")
            f.router.setdefault("name", f.name)
            f.name = new
