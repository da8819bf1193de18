"""A fleet on the fake API server: many Istio rollouts, their VirtualServices and config tables
(the informer, fleet and multi-cluster tests and bench/fleet_scale.py share them)."""

from __future__ import annotations

from typing import Any

ISTIO = "networking.istio.io"


def virtual_service(name: str, namespace: str, canary: int = 10) -> dict[str, Any]:
    """A VirtualService splitting `name` between subsets v1 and v2."""
    route = [
        {"destination": {"host": name, "subset": "v1"}, "weight": 100 - canary},
        {"destination": {"host": name, "subset": "v2"}, "weight": canary},
    ]
    return {
        "apiVersion": f"{ISTIO}/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hosts": [name], "http": [{"name": "primary", "route": route}]},
    }


def rollout_table(name: str, namespace: str, **extra: Any) -> dict[str, Any]:
    """One `[[rollouts]]` table: an Istio router on `name`, Prometheus metrics of service `name`."""
    return {
        "name": name,
        "namespace": namespace,
        "router": {"kind": "istio", "name": name, "route": "primary"},
        "metrics": {"kind": "prometheus", "service": name},
        **extra,
    }


def fleet(n: int, namespaces: int = 3) -> list[tuple[str, str]]:
    """(name, namespace) of `n` rollouts spread over `namespaces` namespaces."""
    return [(f"svc-{i:03d}", f"team-{i % namespaces}") for i in range(n)]
