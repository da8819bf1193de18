"""Istio DestinationRules by the host they apply to and by name: the subsets' pod labels are what
tells a subset split's versions apart in the metrics. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monotui.sources.discovery.infer import short_host

SubsetLabels = dict[str, dict[str, Any]]
"""subset name -> its pod labels."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One DestinationRule's subsets."""

    label: str  # "destinationrule bookinfo/reviews"
    host: str  # the short host it applies to
    namespace: str  # the host's namespace
    subsets: SubsetLabels


class DestinationRules:
    """The listed DestinationRules, looked up by host or by name."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self._by_host: dict[tuple[str, str], Rule] = {}
        self._by_name: dict[tuple[str, str], Rule] = {}
        for obj in objects:
            meta = obj.get("metadata") or {}
            spec = obj.get("spec") or {}
            namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            if not isinstance(spec, dict) or not spec.get("host"):
                continue
            host, host_ns = short_host(str(spec["host"]), namespace)
            subsets: SubsetLabels = {}
            for subset in spec.get("subsets") or []:
                if isinstance(subset, dict) and subset.get("name"):
                    labels = subset.get("labels")
                    subsets[str(subset["name"])] = labels if isinstance(labels, dict) else {}
            rule = Rule(f"destinationrule {namespace}/{name}", host, host_ns, subsets)
            # The first one wins, as Istio merges only one DestinationRule per host.
            self._by_host.setdefault((host_ns, host), rule)
            self._by_name[(namespace, name)] = rule

    def for_host(self, namespace: str, host: str) -> Rule | None:
        return self._by_host.get((namespace, host))

    def named(self, namespace: str, name: str) -> Rule | None:
        return self._by_name.get((namespace, name))
