"""Flagger Canaries (flagger.app/v1beta1) as discovered rollouts, steered by the flagger router
kind (`monotui.sources.router_flagger`): the Canary's status and its VirtualService (HTTPRoute, with
a gatewayapi provider) side by side."""

from __future__ import annotations

from typing import Any

from monotui.errors import SourceError
from monotui.sources.discovery.found import Found, PodTemplate
from monotui.sources.discovery.infer import prefixed, workload_metrics
from monotui.sources.flagger_canary import CanaryView


def canary_found(obj: dict[str, Any]) -> Found | str:
    """The rollout a Canary is, or why it is not one."""
    meta = obj.get("metadata") or {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    where = f"canary {namespace}/{name}"
    try:
        view = CanaryView.parse(obj, where)
    except SourceError as exc:
        return str(exc)
    metrics, how = workload_metrics(view.target, view.apex, where)
    labels = meta.get("labels")
    found = Found(
        name=name,
        namespace=namespace,
        owner=where,
        router={"kind": "flagger", "name": name},
        metrics=metrics,
        steps=view.steps(),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        owns=frozenset(
            {("httproutes" if view.gateway_api else "virtualservices", namespace, view.apex)}
        ),
        pods=_pods(obj, namespace, view.target),
    )
    found.note("router.kind", f"{where} is a Flagger Canary: Flagger owns its {view.route_kind}")
    found.note("steps", f"spec.analysis of {where} (stepWeight up to maxWeight, or stepWeights)")
    found.source |= prefixed("metrics", how)
    provider = (obj.get("spec") or {}).get("provider")
    if isinstance(provider, str) and provider and not provider.startswith("istio"):
        found.note(
            "metrics.version_label",
            f"{how['version_label']}; note: its provider is {provider}, not Istio, so the Istio "
            "metrics may be missing",
        )
    return found


def _pods(obj: dict[str, Any], namespace: str, target: str) -> PodTemplate | None:
    """The targetRef Deployment, whose pod template Flagger copies to `<target>-primary` (a
    DaemonSet or Service target is not looked at)."""
    ref = (obj.get("spec") or {}).get("targetRef") or {}
    if ref.get("kind", "Deployment") != "Deployment":
        return None
    return PodTemplate(f"Deployment {namespace}/{target}", deployment=target)
