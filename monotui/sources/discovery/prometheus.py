"""Finding a Prometheus when none is configured: the usual Services, asked through the API
server's service proxy with the kubeconfig's credentials, the first that answers as a Prometheus.

Tried in order: istio-system/prometheus:9090 (Istio's addon), monitoring/prometheus-k8s:9090
(kube-prometheus), monitoring/prometheus-operated:9090 (the Prometheus operator),
prometheus/prometheus-server:80 (the Helm chart), then any Service labelled
app.kubernetes.io/name=prometheus (its port named web or http, else 9090, else its first port).
Each is asked `/api/v1/status/buildinfo` with a short deadline. The one found is then asked how
often it scrapes Istio's request counters in the namespaces looked at (`scraped_every_s`): a
Prometheus scraping every 30 s, kube-prometheus-stack's default, would give a poll tuned for 15 s
one scrape to count and NO DATA.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from monotui.errors import MonotuiError
from monotui.outside_text import literal
from monotui.sources.discovery.lister import SERVICES, Lister, request
from monotui.sources.kube import KubeConnection
from monotui.sources.prometheus_proxy import ServiceRef
from monotui.sources.prometheus_scrape import interval_from, scrape_interval_query
from monotui.sources.promql import promql_string, regex_literal

WELL_KNOWN = (
    ServiceRef("istio-system", "prometheus", "9090"),
    ServiceRef("monitoring", "prometheus-k8s", "9090"),
    ServiceRef("monitoring", "prometheus-operated", "9090"),
    ServiceRef("prometheus", "prometheus-server", "80"),
)
LABEL = "app.kubernetes.io/name=prometheus"
PROBE_TIMEOUT_S = 2.0


@dataclass
class PrometheusFinding:
    """Which Service answered as a Prometheus (None: none did), and what was tried."""

    service: ServiceRef | None
    version: str = ""
    tried: list[str] = field(default_factory=list)
    """For each Service asked, in order: "ns/name:port: why not"."""

    def line(self) -> str:
        """One line for the user: who answered, or that nothing did and what that means."""
        if self.service is not None:
            found = f"Prometheus {self.version}" if self.version else "Prometheus"
            return f"prometheus: {found} answered at {self.service} through the API server's proxy"
        tried = _grouped(self.tried) or "nothing to try"
        return (
            f"prometheus: none found ({tried}): metrics are off (kind none), weights and flags "
            "are shown; pass --prometheus URL or set [prometheus] url"
        )


def find_prometheus(kube: KubeConnection) -> PrometheusFinding:
    """The first of the usual Services (see the module) that answers as a Prometheus."""
    finding = PrometheusFinding(None)
    seen: set[str] = set()
    lister = Lister(kube, None)
    found = labelled(lister)
    # Listing Services everywhere may be forbidden to a namespaced Role: a reason, not a failure.
    finding.tried += [f"Services labelled {LABEL}: forbidden to list" for _ in lister.skipped]
    for service in (*WELL_KNOWN, *found):
        if str(service) in seen:
            continue
        seen.add(str(service))
        answer = probe(kube, service)
        if isinstance(answer, str):
            finding.tried.append(f"{service}: {answer}")
            continue
        finding.service, finding.version = service, answer[0]
        return finding
    return finding


def scraped_every_s(
    kube: KubeConnection, service: ServiceRef, namespaces: Sequence[str] | None
) -> float | None:
    """How often `service` scrapes Istio's request counters in `namespaces` (None: all), from
    the samples of the last ten minutes; None when it holds none or does not answer."""
    label_filter = ""
    if namespaces:
        regex = "|".join(regex_literal(ns) for ns in namespaces)
        label_filter = f'destination_service_namespace=~"{promql_string(regex)}"'
    query = scrape_interval_query(label_filter).replace(",}", "}")
    path = f"{service.proxy_path}/api/v1/query"
    try:
        status, data = request(kube, path, [("query", query)], timeout_s=PROBE_TIMEOUT_S)
        body: Any = json.loads(data) if status == 200 else None
    except (MonotuiError, ValueError):
        return None
    result = (body.get("data") or {}).get("result") if isinstance(body, dict) else None
    counts = []
    for series in result if isinstance(result, list) else []:
        value = series.get("value") if isinstance(series, dict) else None
        if isinstance(value, list) and len(value) == 2:
            try:
                counts.append(float(value[1]))
            except (TypeError, ValueError):
                continue
    return interval_from([c for c in counts if c == c])  # not NaN


def labelled(lister: Lister) -> list[ServiceRef]:
    """Services labelled app.kubernetes.io/name=prometheus, in every namespace."""
    found = []
    for obj in lister.objects(SERVICES, labels=LABEL):
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        ports = [p for p in spec.get("ports") or [] if isinstance(p, dict) and p.get("port")]
        if not ports or not meta.get("name") or not meta.get("namespace"):
            continue
        port = next(
            (p for p in ports if p.get("name") in ("web", "http", "http-web")),
            next((p for p in ports if p.get("port") == 9090), ports[0]),
        )
        found.append(ServiceRef(str(meta["namespace"]), str(meta["name"]), str(port["port"])))
    return found


def probe(kube: KubeConnection, service: ServiceRef) -> tuple[str] | str:
    """(its version,) when `service` answers as a Prometheus, else why not in a few words."""
    path = f"{service.proxy_path}/api/v1/status/buildinfo"
    try:
        status, data = request(kube, path, timeout_s=PROBE_TIMEOUT_S)
    except MonotuiError as exc:
        return literal(str(exc), max_len=120)
    if status == 404:  # the API server's Status: the Service is missing; else its answer
        return "no such Service" if _status_message(data) else "answered 404: not a Prometheus"
    if status == 403:
        return f"forbidden ('get' on services/proxy needed in {service.namespace})"
    if status != 200:
        return literal(_status_message(data) or f"HTTP {status}", max_len=120)
    try:
        body: Any = json.loads(data)
    except ValueError:
        return "answered, but not as a Prometheus"
    info = body.get("data") if isinstance(body, dict) else None
    if not isinstance(info, dict) or body.get("status") != "success":
        return "answered, but not as a Prometheus"
    version = info.get("version")
    return (literal(version, max_len=40) if isinstance(version, str) else "",)


def _status_message(data: bytes) -> str:
    try:
        body = json.loads(data)
    except ValueError:
        return ""
    if isinstance(body, dict) and body.get("kind") == "Status":
        return str(body.get("message") or "")
    return ""


def _grouped(tried: list[str]) -> str:
    """The reasons of `tried`, the Services that failed alike together ("no such Service: a, b")."""
    reasons: dict[str, list[str]] = {}
    for line in tried:
        where, _, why = line.partition(": ")
        reasons.setdefault(why, []).append(where)
    return "; ".join(f"{why}: {', '.join(where)}" for why, where in reasons.items())
