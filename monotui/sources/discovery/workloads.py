"""The pod template each discovered rollout runs, for the annotations the OpenFeature operator
reads (`openfeature`): an Argo Rollout's own `spec.template`, the Deployment its `workloadRef` or a
Flagger Canary's `targetRef` names, or, for a bare VirtualService or HTTPRoute, the Deployment
behind the Service it sends the canary to (else the stable): the one Deployment of the route's
namespace whose pod labels hold the Service's selector and the subset's labels.

Deployments and Services are listed once each, and only when a rollout needs them and something
could bind: never without the operator's CRDs, across all namespaces only when a
FeatureFlagSource exists, and for a bare route only when the scope holds a FeatureFlag. A
cluster without the operator pays nothing. A rollout whose workload is not found gets no
template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from monotui.sources.discovery.found import Backend, Found
from monotui.sources.discovery.lister import (
    DEPLOYMENTS,
    FEATURE_FLAG_SOURCES,
    FEATURE_FLAGS,
    SERVICES,
    Lister,
    Named,
)

Template = tuple[str, Mapping[str, str]]
"""(the pods in words, their template's annotations)."""


def pod_templates(
    lister: Lister,
    found: list[Found],
    flags: list[dict[str, Any]],
    sources: Callable[[], list[dict[str, Any]]],
) -> dict[int, Template]:
    """The template of each rollout whose workload is known, by its index in `found`. `flags`:
    the FeatureFlags listed; `sources`: the FeatureFlagSources (listed when first asked)."""
    named = any(f.pods is not None and f.pods.deployment for f in found)
    routed = [i for i, f in enumerate(found) if f.pods is None and f.backends]
    if routed and not flags and FEATURE_FLAGS.rbac not in lister.denied:
        routed = []
    if (named or routed) and not _may_bind(lister, sources):
        named, routed = False, []
    deployments = lister.objects(DEPLOYMENTS) if named or routed else []
    templates: dict[int, Template] = {}
    if named:
        find = lister.finder(DEPLOYMENTS, deployments)
        for i, rollout in enumerate(found):
            if rollout.pods is None or rollout.pods.deployment is None:
                continue
            obj = find(rollout.namespace, rollout.pods.deployment)
            if isinstance(obj, dict):
                templates[i] = (rollout.pods.what, _annotations(obj))
            elif obj != "not found":  # a missing workload is the router's to report
                rollout.note("flags", f"{rollout.pods.what}, its pods' template: {obj}")
    for i, rollout in enumerate(found):
        if rollout.pods is not None and rollout.pods.annotations is not None:
            templates[i] = (rollout.pods.what, rollout.pods.annotations)
    if routed:
        services = lister.finder(SERVICES, lister.objects(SERVICES))
        for i in routed:
            behind = _behind(found[i], services, deployments)
            if behind is not None:
                templates[i] = behind
    return templates


def _may_bind(lister: Lister, sources: Callable[[], list[dict[str, Any]]]) -> bool:
    """Whether a Deployment's template could bind anything: not without the operator's CRDs,
    nor, across all namespaces, without one FeatureFlagSource anywhere (a namespace's
    Deployments are few; the cluster's may be thousands, so they are listed only then)."""
    if FEATURE_FLAGS.rbac in lister.absent:
        return False
    if lister.namespace is not None:
        return True
    return bool(sources()) or FEATURE_FLAG_SOURCES.rbac in lister.denied


def _behind(
    rollout: Found, services: Callable[[str, str], Named], deployments: list[dict[str, Any]]
) -> Template | None:
    """The template of the Deployment behind the route's canary Service (else its stable's)."""
    for backend in rollout.backends:
        service = services(rollout.namespace, backend.service)
        selector = (
            (service.get("spec") or {}).get("selector") if isinstance(service, dict) else None
        )
        if not isinstance(selector, dict) or not selector:
            continue  # no Service, or one without a selector: its pods are unknown
        matched = _selected(rollout.namespace, {**selector, **backend.labels}, deployments)
        if len(matched) == 1:
            name = str(matched[0]["metadata"].get("name"))
            return (_words(rollout.namespace, name, backend), _annotations(matched[0]))
    return None


def _selected(
    namespace: str, labels: Mapping[str, Any], deployments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The Deployments of `namespace` whose pods carry every one of `labels`."""
    wanted = {str(k): str(v) for k, v in labels.items()}
    out = []
    for obj in deployments:
        meta = obj.get("metadata") or {}
        if meta.get("namespace") != namespace:
            continue
        template = (obj.get("spec") or {}).get("template") or {}
        have = (template.get("metadata") or {}).get("labels")
        if isinstance(have, dict) and all(str(have.get(k)) == v for k, v in wanted.items()):
            out.append(obj)
    return out


def _words(namespace: str, name: str, backend: Backend) -> str:
    subset = f", subset labels {dict(backend.labels)}" if backend.labels else ""
    return (
        f"Deployment {namespace}/{name}, behind Service {backend.service} "
        f"(the {backend.role}{subset})"
    )


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    template = (obj.get("spec") or {}).get("template") or {}
    raw = (template.get("metadata") or {}).get("annotations")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
