"""Argo Rollouts canary Rollouts as discovered rollouts.

The Rollout is steered through the Argo backend (`kind = "argo"`: promote, abort, pause, ...);
its weights come from the traffic router it names, read by monotui's own router for it
(`[rollouts.router.traffic]`): an Istio VirtualService (`trafficRouting.istio.virtualService(s)`,
host split by `stableService`/`canaryService`, or subset split by `destinationRule`), or a Gateway
API HTTPRoute (the `argoproj-labs/gatewayAPI` plugin). Other traffic routers, and replica-based
canaries (no `trafficRouting`), show the Rollout's own status. Steps come from the spec.
"""

from __future__ import annotations

from typing import Any

from monotui.errors import SourceError
from monotui.sources.argo_rollout import RolloutView
from monotui.sources.discovery.found import Found, PodTemplate, Ref
from monotui.sources.discovery.infer import host_metrics, prefixed, short_host, subset_metrics
from monotui.sources.discovery.rules import DestinationRules


def rollout_found(obj: dict[str, Any], rules: DestinationRules) -> Found | str:
    """The rollout a Rollout is, or why it is not one monotui steers."""
    meta = obj.get("metadata") or {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    where = f"rollout {namespace}/{name}"
    try:
        view = RolloutView.parse(obj, where)
    except SourceError as exc:
        return str(exc)
    canary = obj["spec"]["strategy"]["canary"]
    found = Found(
        name=name,
        namespace=namespace,
        owner=where,
        router={"kind": "argo", "name": name},
        metrics={"kind": "none"},
        steps=view.plan_steps(),
        labels=_labels(obj),
        pods=_pods(obj, where),
    )
    found.note("router.kind", f"{where} has a canary strategy (spec.strategy.canary)")
    found.note("steps", f"the setWeight steps of {where}")
    routing = canary.get("trafficRouting")
    if not isinstance(routing, dict):
        found.note("router.traffic", "none: a replica-based canary, weights from its status")
        found.note(
            "metrics.kind",
            "none: Istio's standard metrics cannot tell the two ReplicaSets of a replica-based "
            "canary apart; set [rollouts.metrics] to a label that does",
        )
        return found
    stable, canary_svc = canary.get("stableService"), canary.get("canaryService")
    istio = routing.get("istio")
    gateway = _gateway_plugin(routing)
    if isinstance(istio, dict):
        _istio(found, istio, stable, canary_svc, rules, where)
    elif gateway is not None:
        _gateway(found, gateway, stable, canary_svc, where)
    else:
        kinds = ", ".join(sorted(str(k) for k in routing)) or "an unknown one"
        found.note(
            "router.traffic", f"none: monotui does not read {kinds}; weights from its status"
        )
    if found.metrics.get("kind") == "none" and isinstance(stable, str) and canary_svc:
        metrics, how = host_metrics(stable, str(canary_svc), where)
        found.metrics = metrics
        found.source |= prefixed("metrics", how)
    return found


def _istio(
    found: Found,
    istio: dict[str, Any],
    stable: Any,
    canary: Any,
    rules: DestinationRules,
    where: str,
) -> None:
    services = istio.get("virtualServices")
    if not isinstance(services, list):
        single = istio.get("virtualService")
        services = [single] if isinstance(single, dict) else []
    named = [s for s in services if isinstance(s, dict) and s.get("name")]
    if not named:
        found.note("router.traffic", f"none: {where} names no VirtualService")
        return
    first = named[0]
    found.owns = frozenset(_ref("virtualservices", found.namespace, s["name"]) for s in named)
    # Argo names a VirtualService of another namespace "<name>.<namespace>".
    _, vs_namespace, vs = _ref("virtualservices", found.namespace, first["name"])
    if vs_namespace != found.namespace:
        found.note(
            "router.traffic",
            f"none: {where} names VirtualService {vs_namespace}/{vs}, outside the Rollout's "
            "namespace; weights from its status",
        )
        return
    traffic: dict[str, Any] = {"kind": "istio", "name": vs}
    routes = first.get("routes")
    if isinstance(routes, list) and routes:
        traffic["route"] = str(routes[0])
    rule = istio.get("destinationRule")
    if isinstance(rule, dict) and rule.get("stableSubsetName") and rule.get("canarySubsetName"):
        traffic |= {
            "stable": str(rule["stableSubsetName"]),
            "canary": str(rule["canarySubsetName"]),
        }
        how = f"spec.strategy.canary.trafficRouting.istio.destinationRule of {where}"
        known = rules.named(found.namespace, str(rule.get("name") or ""))
        host = known.host if known else vs
        label = known.label if known else f"destinationrule {rule.get('name')} (not found)"
        subsets = known.subsets if known else {}
        metrics, mhow = subset_metrics(host, traffic["stable"], traffic["canary"], subsets, label)
        found.metrics = metrics
        found.source |= prefixed("metrics", mhow)
    elif isinstance(stable, str) and isinstance(canary, str):
        traffic |= {"stable": stable, "canary": canary}
        how = f"spec.strategy.canary.stableService/canaryService of {where}"
    else:
        found.note("router.traffic", f"none: {where} names no stableService/canaryService")
        return
    found.router["traffic"] = traffic
    vs_how = f"spec.strategy.canary.trafficRouting.istio of {where}"
    found.note("router.traffic.name", f"the VirtualService named in {vs_how}")
    if "route" in traffic:
        found.note("router.traffic.route", f"the first of its routes in {vs_how}")
    found.note("router.traffic.stable", how)
    found.note("router.traffic.canary", how)


def _gateway(found: Found, plugin: dict[str, Any], stable: Any, canary: Any, where: str) -> None:
    route = plugin.get("httpRoute")
    if not route and isinstance(plugin.get("httpRoutes"), list) and plugin["httpRoutes"]:
        first = plugin["httpRoutes"][0]
        route = first.get("name") if isinstance(first, dict) else None
    namespace = str(plugin.get("namespace") or found.namespace)
    how = f"the gatewayAPI traffic router plugin of {where}"
    if not route or not isinstance(stable, str) or not isinstance(canary, str):
        found.note("router.traffic", f"none: {how} names no httpRoute or services")
        return
    if namespace != found.namespace:
        found.note(
            "router.traffic",
            f"none: {how} names HTTPRoute {namespace}/{route}, outside the Rollout's namespace; "
            "weights from its status",
        )
        return
    found.owns = frozenset({_ref("httproutes", namespace, route)})
    found.router["traffic"] = {
        "kind": "gateway-api",
        "name": str(route),
        "stable": stable,
        "canary": canary,
    }
    found.note("router.traffic.name", f"the httpRoute of {how}")
    services = f"spec.strategy.canary.stableService/canaryService of {where}"
    found.note("router.traffic.stable", services)
    found.note("router.traffic.canary", services)


def _gateway_plugin(routing: dict[str, Any]) -> dict[str, Any] | None:
    """The Gateway API plugin's settings ("argoproj-labs/gatewayAPI", or an older spelling)."""
    for key in ("plugins", "plugin"):
        plugins = routing.get(key)
        if isinstance(plugins, dict):
            for name, settings in plugins.items():
                if str(name).rsplit("/", 1)[-1].lower() == "gatewayapi" and isinstance(
                    settings, dict
                ):
                    return settings
    return None


def _ref(plural: str, namespace: str, name: Any) -> Ref:
    service, ns = short_host(str(name), namespace)
    return (plural, ns, service)


def _pods(obj: dict[str, Any], where: str) -> PodTemplate | None:
    """The Rollout's pod template: `spec.workloadRef`'s Deployment when it names one (the
    Rollout then runs that Deployment's template), else `spec.template`."""
    spec = obj.get("spec") or {}
    ref = spec.get("workloadRef")
    if isinstance(ref, dict):
        name = ref.get("name")
        if ref.get("kind", "Deployment") == "Deployment" and isinstance(name, str) and name:
            namespace = str((obj.get("metadata") or {}).get("namespace") or "")
            return PodTemplate(f"Deployment {namespace}/{name}", deployment=name)
        return None  # another kind of workload: not looked at
    template = spec.get("template")
    meta = template.get("metadata") if isinstance(template, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    return PodTemplate(
        f"the pod template of {where}",
        annotations={str(k): str(v) for k, v in annotations.items()}
        if isinstance(annotations, dict)
        else {},
    )


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = {}
    template = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
    for source in (template.get("labels"), (obj.get("metadata") or {}).get("labels")):
        if isinstance(source, dict):
            labels |= {str(k): str(v) for k, v in source.items()}
    return labels
