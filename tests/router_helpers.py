"""Objects and helpers shared by the router tests (VirtualServices, HTTPRoutes, a connection)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui.config import KubernetesConfig, RolloutConfig
from monotui.registry import NoMetricsSettings
from monotui.sources.kube import KubeConnection, connect
from tests.configs import rollout_config

ISTIO = "networking.istio.io"
GATEWAY = "gateway.networking.k8s.io"
NS = "bookinfo"


def kube(kubeconfig: Path, timeout_s: float = 5.0) -> KubeConnection:
    return connect(KubernetesConfig(kubeconfig=kubeconfig), timeout_s=timeout_s)


def conn_fixture(timeout_s: float = 5.0) -> Any:
    """A `conn` fixture for a test module (`conn = conn_fixture()`): a connection to the fake API
    server with this request timeout, closed after each test."""

    @pytest.fixture
    def conn(fake_kubeconfig: Path) -> Iterator[KubeConnection]:
        connection = kube(fake_kubeconfig, timeout_s)
        yield connection
        connection.close()

    return conn


def rollout(kind: str = "istio", name: str = "reviews", **router: Any) -> RolloutConfig:
    return rollout_config(
        {"name": "reviews", "namespace": NS, "router": {"kind": kind, "name": name, **router}}
    )


def no_metrics(cfg: RolloutConfig) -> RolloutConfig:
    """The rollout without a metrics source: these tests steer the router, nothing is judged."""
    return cfg.model_copy(update={"metrics": NoMetricsSettings()})


def dest(subset: str, weight: int | None = None, host: str = "reviews") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "destination": {"host": host, "subset": subset, "port": {"number": 9080}}
    }
    if weight is not None:
        entry["weight"] = weight
    return entry


def virtual_service(
    canary: int = 10, *, name: str = "reviews", http: list[Any] | None = None, **spec: Any
) -> dict[str, Any]:
    """A VirtualService with fields a write must leave alone (retries, timeouts, headers, labels)."""
    routes = (
        http
        if http is not None
        else [
            {
                "name": "primary",
                "match": [{"headers": {"end-user": {"exact": "jason"}}}],
                "route": [
                    {**dest("v1", 100 - canary), "headers": {"response": {"set": {"x-v": "1"}}}},
                    dest("v2", canary),
                ],
                "retries": {"attempts": 3, "perTryTimeout": "2s"},
                "timeout": "10s",
            }
        ]
    )
    return {
        "apiVersion": f"{ISTIO}/v1",
        "kind": "VirtualService",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"app": "reviews", "team": "bookinfo"},
            "annotations": {"owner": "ops", "note": 'ünïcode ✓ and "quotes"'},
        },
        "spec": {"hosts": ["reviews"], "gateways": ["mesh"], "http": routes, **spec},
    }


def http_route(
    *weights: int | None,
    names: tuple[str, ...] = ("reviews-v1", "reviews-v2"),
    rules: list[Any] | None = None,
) -> dict[str, Any]:
    refs = []
    for ref_name, weight in zip(names, weights, strict=False):
        ref: dict[str, Any] = {"name": ref_name, "port": 9080}
        if weight is not None:
            ref["weight"] = weight
        refs.append(ref)
    return {
        "apiVersion": f"{GATEWAY}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "reviews", "namespace": NS, "labels": {"app": "reviews"}},
        "spec": {
            "parentRefs": [{"name": "gateway", "sectionName": "http"}],
            "hostnames": ["reviews.example.com"],
            "rules": rules
            if rules is not None
            else [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {"add": [{"name": "x-a", "value": "1"}]},
                        }
                    ],
                    "backendRefs": refs,
                }
            ],
        },
    }


def without_weights(obj: dict[str, Any]) -> dict[str, Any]:
    """The object minus what a weight change may touch: weights, resourceVersion, generation."""
    out = copy.deepcopy(obj)
    out["metadata"].pop("resourceVersion", None)
    out["metadata"].pop("generation", None)

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("route", "backendRefs"):
                for entry in node.get(key) or []:
                    if isinstance(entry, dict):
                        entry.pop("weight", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(out["spec"])
    return out


def wait_for(predicate: Callable[[], Any], timeout_s: float = 3.0) -> Any:
    """Poll until `predicate()` is truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.01)  # polling, not waiting for something


def judged_healthy(cfg: RolloutConfig, router: Any, **kw: Any) -> tuple[Any, Any]:
    """A controller on policy auto with no hold whose metrics come from a simulated healthy canary
    at 50 %: the judge says PASS, so the automation would advance at every poll.
    Returns (controller, world); advance the world between polls."""
    from monotui.model import Weights
    from monotui.rollout import assemble
    from monotui.sim.scenarios import HEALTHY
    from monotui.sim.sources import SimMetrics
    from monotui.sim.world import World

    world = World(3)
    world.add_rollout(cfg.name, cfg.namespace, HEALTHY, weights=Weights(50, 50))
    world.advance(600)
    window = cfg.metrics.model_copy(update={"window": "10s"})  # one window per 10 s poll
    auto = cfg.model_copy(
        update={"policy": "auto", "hold_s": 0.0, "interval_s": 10.0, "metrics": window}
    )
    ctl = assemble(
        auto,
        router=router(auto),
        metrics=SimMetrics(world, cfg.name, step_s=10.0),
        clock=world.now,
        **kw,
    )
    return ctl, world
