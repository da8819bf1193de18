"""The argo router with `[rollouts.router.traffic]` on a Rollout shaped like Argo Rollouts' docs
give for workloadRef, DestinationRule subsets and managed routes (setHeaderRoute,
setMirrorRoute), with the VirtualService its controller leaves at each point, through the fake
API server and the real kubernetes client; and `discover` -> `check-config` -> `status` on it."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from monotui.model import Phase, Weights
from monotui.sources.kube import KubeConnection
from monotui.sources.router_argo import ArgoRouter
from tests.configs import rollout_config
from tests.discovery_world import Cluster, cluster, monotui  # noqa: F401
from tests.fakekube import FakeKube
from tests.router_helpers import NS, conn_fixture

conn = conn_fixture()
MANIFEST = Path(__file__).parent / "manifests" / "argo-workloadref-managed.yaml"
DOCS = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
TRAFFIC = {"kind": "istio", "name": "payments", "route": "weighted"}
SUBSETS = {"stable": "stable", "canary": "canary"}


def load(fake: FakeKube, change: Callable[[list[dict[str, Any]]], object] | None = None) -> None:
    """The Rollout, its VirtualService and DestinationRule (`change`d first) in namespace NS."""
    docs = copy.deepcopy(DOCS)
    if change is not None:
        change(docs)
    for doc in docs:
        doc["metadata"]["namespace"] = NS
        fake.put_object(doc)


def router(conn: KubeConnection) -> ArgoRouter:
    traffic = TRAFFIC | SUBSETS
    cfg = rollout_config(
        {
            "name": "payments",
            "namespace": NS,
            "router": {"kind": "argo", "name": "payments", "traffic": traffic},
            "metrics": {"kind": "none"},
        }
    )
    return ArgoRouter(conn, cfg)


def test_at_the_header_route_step_the_weighted_route_is_read_not_the_testers(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube)  # workloadRef, no template: nothing monotui needs is missing
    state = router(conn).read()
    assert state.weights == Weights(90, 10)  # not the header route's lone 100 to canary
    assert state.progress is not None
    assert state.progress.steps == (10, 40, 100)
    assert state.progress.phase == Phase.PAUSED
    assert "step 3/9 (pause until promoted)" in state.progress.message
    assert "weights from virtualservice bookinfo/payments" in state.progress.message


@pytest.mark.parametrize(
    ("index", "words"),
    [
        (1, "step 2/9 (setHeaderRoute)"),
        (3, "step 4/9 (setMirrorRoute)"),
        (4, "step 5/9 (pause 1h)"),
        (6, "step 7/9 (pause 30s)"),  # a bare number is seconds to Argo
    ],
)
def test_the_managed_route_steps_and_pause_durations_are_said(
    fake_kube: FakeKube, conn: KubeConnection, index: int, words: str
) -> None:
    def at(docs: list[dict[str, Any]]) -> None:
        docs[0]["status"]["currentStepIndex"] = index

    load(fake_kube, at)
    state = router(conn).read()
    assert state.progress is not None and words in state.progress.message


def test_fully_promoted_is_all_new_though_the_route_is_back_to_stable_100(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    def promoted(docs: list[dict[str, Any]]) -> None:
        status = docs[0]["status"]
        status.update(currentStepIndex=9, phase="Healthy", stableRS=status["currentPodHash"])
        del status["pauseConditions"], status["message"]
        status["canary"]["weights"]["canary"]["weight"] = 0
        status["canary"]["weights"]["stable"]["weight"] = 100
        http = docs[1]["spec"]["http"]
        del http[0]  # Argo removes its managed routes when the rollout ends
        http[0]["route"][0]["weight"], http[0]["route"][1]["weight"] = 100, 0

    load(fake_kube, promoted)
    state = router(conn).read()
    # The stable subset runs the new revision now: it has all traffic, as without traffic set.
    assert state.weights == Weights(0, 100)
    assert state.progress is not None and state.progress.phase == Phase.PROMOTED
    assert "has not applied it yet" not in state.progress.message
    assert "fully promoted" in state.progress.message


def put_in_shop(world: Cluster) -> None:
    """The manifests, in namespace shop."""
    for doc in copy.deepcopy(DOCS):
        doc["metadata"]["namespace"] = "shop"
        world.fake.put_object(doc)


def test_discover_then_check_config_then_status(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_in_shop(cluster)
    found = monotui(capsys, "discover", "-n", "shop", "-o", "toml")
    assert found.code == 0, found.err
    (entry,) = tomllib.loads(found.out)["rollouts"]
    assert entry["router"]["traffic"] == TRAFFIC | SUBSETS
    file = cluster.home / "found.toml"
    file.write_text(found.out, encoding="utf-8")
    checked = monotui(capsys, "check-config", "-c", str(file))
    assert checked.code == 0, checked.out + checked.err
    assert "payments: router argo: ok" in checked.out
    (status,) = monotui(capsys, "status", "--json", "-c", str(file)).json()["rollouts"]
    assert status["weights"] == {"stable": 90, "canary": 10}
    assert status["phase"] == "Paused"
    assert status["sources"]["router"]["state"] == "ok"


MISSPELT = """
[[rollouts]]
name = "payments"
namespace = "shop"
[rollouts.router]
kind = "argo"
name = "payments"
[rollouts.router.traffic]
kind = "istio"
name = "paymnts"
route = "weighted"
stable = "stable"
canary = "canary"
[rollouts.metrics]
kind = "none"
"""


def test_check_config_fails_a_traffic_route_it_cannot_read(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The status would show the Rollout's own weights and carry on: the route must be named.
    put_in_shop(cluster)
    file = cluster.home / "monotui.toml"
    file.write_text(MISSPELT, encoding="utf-8")
    checked = monotui(capsys, "check-config", "-c", str(file))
    assert checked.code == 2, checked.out
    assert "payments: router argo: FAILED: virtualservice paymnts not found" in checked.out
    file.write_text(MISSPELT.replace('"paymnts"', '"payments"'), encoding="utf-8")
    checked = monotui(capsys, "check-config", "-c", str(file))
    assert checked.code == 0, checked.out
    assert "router argo: ok (weights from virtualservice shop/payments)" in checked.out


def test_check_config_passes_a_traffic_route_mid_experiment(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An experiment step routes to a third service for a while: the config is still right.
    docs = copy.deepcopy(DOCS)
    weighted = docs[1]["spec"]["http"][1]["route"]
    weighted[0]["weight"] = 80
    extra = {"destination": {"host": "payments-baseline", "port": {"number": 8443}}, "weight": 10}
    weighted.append(extra)
    for doc in docs:
        doc["metadata"]["namespace"] = "shop"
        cluster.fake.put_object(doc)
    file = cluster.home / "monotui.toml"
    file.write_text(MISSPELT.replace('"paymnts"', '"payments"'), encoding="utf-8")
    checked = monotui(capsys, "check-config", "-c", str(file))
    assert checked.code == 0, checked.out
    assert "router argo: ok, but virtualservice shop/payments cannot be read" in checked.out
