"""The flagger router on a Canary shaped like Flagger's docs' own example (maxWeight 50 with
stepWeight 20, a confirm-promotion gate) through every phase its controller writes, with the
VirtualService as Flagger leaves it in each, through the fake API server and the real
kubernetes client: the steps it walks, the weights the mesh has, and no false disagreement."""

from __future__ import annotations

import tomllib
from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml

from monotui.model import Phase, Weights
from monotui.sources.flagger_canary import CanaryView
from monotui.sources.kube import KubeConnection
from monotui.sources.router_flagger import FlaggerRouter
from tests.configs import rollout_config
from tests.discovery_world import Cluster, cluster, monotui  # noqa: F401
from tests.fakekube import FakeKube
from tests.router_helpers import NS, conn_fixture

conn = conn_fixture()
GATED = (Path(__file__).parent / "manifests" / "flagger-gated.yaml").read_text()
ISTIO = "networking.istio.io"


def load(fake: FakeKube, phase: str, weight: int, mesh: tuple[int, int]) -> None:
    """The Canary in `phase` with status.canaryWeight `weight`, its VirtualService at `mesh`."""
    text = Template(GATED).substitute(phase=phase, weight=weight, primary=mesh[0], canary=mesh[1])
    for doc in (d for d in yaml.safe_load_all(text) if d):
        doc["metadata"]["namespace"] = NS
        if doc["kind"] == "VirtualService" and mesh[1] == 0:
            del doc["spec"]["http"][0]["route"][1]["weight"]  # omitempty, as Flagger writes it
        fake.put_object(doc)


def router(conn: KubeConnection) -> FlaggerRouter:
    cfg = rollout_config(
        {
            "name": "cart",
            "namespace": NS,
            "router": {"kind": "flagger"},
            "metrics": {"kind": "none"},
        }
    )
    return FlaggerRouter(conn, cfg)


@pytest.mark.parametrize(
    ("analysis", "steps"),
    [
        ({"maxWeight": 50, "stepWeight": 20}, (20, 40, 60, 100)),  # the docs: past maxWeight
        ({"maxWeight": 50, "stepWeight": 10}, (10, 20, 30, 40, 50, 100)),
        ({"stepWeight": 30}, (30, 60, 90, 100)),  # maxWeight defaults to 100
        ({"maxWeight": 50, "stepWeights": [1, 5, 25, 50]}, (1, 5, 25, 50, 100)),
        ({"maxWeight": 30, "stepWeights": [10, 60]}, (10, 60, 100)),  # the list's top wins
        # stepWeight wins the walk; the list still sets the top (nextStepWeight, maxWeight)
        ({"stepWeight": 10, "stepWeights": [1, 5, 25, 50]}, (10, 20, 30, 40, 50, 100)),
        ({"stepWeight": 0, "stepWeights": [5, 50]}, (5, 50, 100)),
        ({"iterations": 10, "match": [{"headers": {"x-canary": {"exact": "yes"}}}]}, (100,)),
    ],
)
def test_the_steps_are_the_weights_flagger_walks(
    analysis: dict[str, Any], steps: tuple[int, ...]
) -> None:
    text = Template(GATED).substitute(phase="Progressing", weight=20, primary=80, canary=20)
    doc = next(yaml.safe_load_all(text))
    doc["spec"]["analysis"] = analysis
    assert CanaryView.parse(doc, "canary bookinfo/cart").steps() == steps


@pytest.mark.parametrize(
    ("phase", "weight", "mesh", "shown"),
    [
        ("Initialized", 0, (100, 0), Phase.PROMOTED),
        ("Progressing", 40, (60, 40), Phase.PROGRESSING),
        ("WaitingPromotion", 0, (40, 60), Phase.PAUSED),  # the gate holds it at the last step
        ("Promoting", 60, (40, 60), Phase.PROGRESSING),
        ("Finalising", 0, (100, 0), Phase.PROGRESSING),  # all back on the (promoted) primary
        ("Succeeded", 0, (100, 0), Phase.PROMOTED),
        ("Failed", 0, (100, 0), Phase.ROLLED_BACK),
    ],
)
def test_each_phase_shows_the_mesh_weights_and_no_false_disagreement(
    fake_kube: FakeKube,
    conn: KubeConnection,
    phase: str,
    weight: int,
    mesh: tuple[int, int],
    shown: Phase,
) -> None:
    load(fake_kube, phase, weight, mesh)
    state = router(conn).read()
    assert state.weights == Weights(*mesh)
    assert state.progress is not None
    assert state.progress.phase == shown
    message = state.progress.message
    assert f"Flagger: {phase}" in message
    assert "the Canary says" not in message, message  # Flagger set both: they agree


def test_held_for_promotion_the_weight_is_the_last_steps_even_without_the_virtual_service(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    # Flagger zeroes status.canaryWeight on entering WaitingPromotion; the mesh stays at 60.
    load(fake_kube, "WaitingPromotion", 0, (40, 60))
    state = router(conn).read()
    assert state.progress is not None
    assert "canary weight 60, held until promoted" in state.progress.message
    fake_kube.delete_object(ISTIO, "virtualservices", NS, "cart")
    state = router(conn).read()
    assert state.weights == Weights(40, 60)  # not 100/0: the canary still takes 60 %
    assert state.progress is not None
    assert "virtualservice cart unreadable" in state.progress.message
    assert "weights from the last step" in state.progress.message


GATEWAY_API = (Path(__file__).parent / "manifests" / "flagger-gatewayapi.yaml").read_text()


def test_a_gateway_api_provider_is_read_from_the_http_route_flagger_generated(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    for doc in (d for d in yaml.safe_load_all(GATEWAY_API) if d):
        doc["metadata"]["namespace"] = NS
        fake_kube.put_object(doc)
    podinfo = rollout_config(
        {
            "name": "podinfo",
            "namespace": NS,
            "router": {"kind": "flagger"},
            "metrics": {"kind": "none"},
        }
    )
    flagger = FlaggerRouter(conn, podinfo)
    state = flagger.read()
    assert state.weights == Weights(80, 20)
    assert state.progress is not None
    assert "httproute podinfo: 80/20" in state.progress.message
    assert "virtualservice" not in state.progress.message  # no Istio route to look for
    route = fake_kube.get_object("gateway.networking.k8s.io", "v1", "httproutes", NS, "podinfo")
    refs = route["spec"]["rules"][0]["backendRefs"]
    refs[0]["weight"], refs[1]["weight"] = 70, 30  # someone edits Flagger's route
    fake_kube.put_object(route)
    state = flagger.read()
    assert state.weights == Weights(70, 30)  # what the gateway does
    assert state.progress is not None
    assert "the Canary says 20, its HTTPRoute 30" in state.progress.message


def test_discovery_does_not_offer_flaggers_http_route_as_a_rollout_of_its_own(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Flagger sets no owner references when the mesh is another cluster (-kubeconfig-service-mesh).
    for doc in (d for d in yaml.safe_load_all(GATEWAY_API) if d):
        doc["metadata"]["namespace"] = "shop"
        doc["metadata"].pop("ownerReferences", None)
        cluster.fake.put_object(doc)
    found = monotui(capsys, "discover", "-n", "shop", "-o", "toml")
    assert found.code == 0, found.err
    (entry,) = tomllib.loads(found.out)["rollouts"]  # not also a gateway-api one on its route
    assert entry["router"] == {"kind": "flagger", "name": "podinfo"}


FLAGGER_CONFIG = """
[[rollouts]]
name = "podinfo"
namespace = "shop"
[rollouts.router]
kind = "flagger"
{route}
[rollouts.metrics]
kind = "none"
"""


@pytest.mark.parametrize(
    ("route", "code", "line"),
    [
        ("", 0, "router flagger: ok"),
        ('virtual_service = "podinf"', 2, "router flagger: FAILED: httproute podinf not found"),
    ],
)
def test_check_config_reads_the_route_flagger_generated(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    route: str,
    code: int,
    line: str,
) -> None:
    for doc in (d for d in yaml.safe_load_all(GATEWAY_API) if d):
        doc["metadata"]["namespace"] = "shop"
        cluster.fake.put_object(doc)
    file = cluster.home / "monotui.toml"
    file.write_text(FLAGGER_CONFIG.format(route=route), encoding="utf-8")
    checked = monotui(capsys, "check-config", "-c", str(file))
    assert checked.code == code, checked.out
    assert f"podinfo: {line}" in checked.out


def test_check_config_says_when_flaggers_route_is_not_there_yet(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    canary, _route = (d for d in yaml.safe_load_all(GATEWAY_API) if d)
    canary["metadata"]["namespace"] = "shop"
    cluster.fake.put_object(canary)  # Flagger has not generated its HTTPRoute yet
    file = cluster.home / "monotui.toml"
    file.write_text(FLAGGER_CONFIG.format(route=""), encoding="utf-8")
    checked = monotui(capsys, "check-config", "-c", str(file))
    assert checked.code == 0, checked.out
    assert "podinfo: router flagger: ok, but HTTPRoute podinfo cannot be read" in checked.out


def test_without_a_threshold_flaggers_default_of_one_failed_check_is_shown(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    text = Template(GATED).substitute(phase="Progressing", weight=20, primary=80, canary=20)
    canary, virtual_service = (d for d in yaml.safe_load_all(text) if d)
    del canary["spec"]["analysis"]["threshold"]  # Flagger rolls back at the first failed check
    for doc in (canary, virtual_service):
        doc["metadata"]["namespace"] = NS
        fake_kube.put_object(doc)
    state = router(conn).read()
    assert state.progress is not None and "failed checks 0/1" in state.progress.message
