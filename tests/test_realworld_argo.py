"""The Argo router on Rollouts shaped like the ones Argo Rollouts' examples ship and its controller
writes (every traffic router it knows, analysis/setCanaryScale/experiment steps, the status block
as the controller leaves it), in our own words and values, through the fake API server and the
real kubernetes client; and `monotui status --json` end to end on a real-shaped VirtualService,
HTTPRoute and Rollout."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml

from monotui.errors import MonotuiError, SourceError
from monotui.model import ActionKind, Phase, Weights
from monotui.sources.kube import KubeConnection
from monotui.sources.router_argo import ArgoRouter
from tests.argo_helpers import ARGO, comparable
from tests.fakekube import FakeKube
from tests.router_helpers import NS, conn_fixture, no_metrics, rollout

conn = conn_fixture()
MANIFESTS = Path(__file__).parent / "manifests"
CANARY = yaml.safe_load((MANIFESTS / "argo-canary.yaml").read_text())

ROUTERS: dict[str, dict[str, Any]] = {
    "istio-virtualService": {
        "istio": {
            "virtualService": {"name": "checkout", "routes": ["primary"]},
            "destinationRule": {
                "name": "checkout",
                "canarySubsetName": "canary",
                "stableSubsetName": "stable",
            },
        }
    },
    "istio-virtualServices": {
        "istio": {
            "virtualServices": [
                {"name": "checkout-internal", "routes": ["primary"]},
                {"name": "checkout-public", "routes": ["web", "api"], "tlsRoutes": [{"port": 443}]},
            ]
        }
    },
    "gateway-api-plugin": {
        "plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "checkout", "namespace": NS}}
    },
    "smi": {"smi": {"rootService": "checkout", "trafficSplitName": "checkout-split"}},
    "nginx": {
        "nginx": {
            "stableIngress": "checkout",
            "additionalIngressAnnotations": {"canary-by-header": "X-Canary"},
        }
    },
    "alb": {
        "alb": {"ingress": "checkout", "servicePort": 80, "rootService": "checkout"},
        "maxTrafficWeight": 100,
    },
}


def rollout_doc(change: Callable[[dict[str, Any]], object] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(CANARY)
    doc["metadata"]["namespace"] = NS
    doc["spec"]["strategy"]["canary"]["trafficRouting"] = copy.deepcopy(
        ROUTERS["istio-virtualService"]
    )
    if change is not None:
        change(doc)
    return doc


def router(conn: KubeConnection) -> ArgoRouter:
    return ArgoRouter(conn, no_metrics(rollout("argo", "checkout")))


def stored(fake: FakeKube) -> dict[str, Any]:
    return fake.get_object(ARGO, "v1alpha1", "rollouts", NS, "checkout")


@pytest.mark.parametrize("kind", list(ROUTERS))
def test_every_traffic_router_reads_the_weights_argo_set(
    fake_kube: FakeKube, conn: KubeConnection, kind: str
) -> None:
    def use(doc: dict[str, Any]) -> None:
        doc["spec"]["strategy"]["canary"]["trafficRouting"] = ROUTERS[kind]
        if kind == "alb":
            doc["status"]["canary"]["weights"]["verified"] = True

    fake_kube.put_object(rollout_doc(use))
    state = router(conn).read()
    assert state.weights == Weights(95, 5)
    assert state.progress is not None
    assert state.progress.steps == (5, 25, 60, 100)
    assert state.progress.phase == Phase.PAUSED
    assert "step 2/9 (pause until promoted)" in state.progress.message
    assert "CanaryPauseStep" in state.progress.message


def test_advance_at_the_pause_clears_it_and_touches_nothing_else(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(rollout_doc())
    before = stored(fake_kube)
    argo = router(conn)
    result = argo.act(ActionKind.ADVANCE, argo.read())
    assert "pause (CanaryPauseStep) at step 2/9 is over" in result.note
    after = stored(fake_kube)
    expected = comparable(before)
    del expected["status"]["pauseConditions"]
    assert comparable(after) == expected


@pytest.mark.parametrize(
    ("index", "weights", "words"),
    [
        (0, Weights(95, 5), "step 1/9 (setWeight 5)"),
        (2, Weights(75, 25), "step 3/9 (setWeight 25)"),
        (4, Weights(75, 25), "step 5/9 (analysis)"),
        (5, Weights(75, 25), "step 6/9 (setCanaryScale)"),
        (6, Weights(75, 25), "step 7/9 (experiment)"),
        (8, Weights(40, 60), "step 9/9 (pause 1h)"),
        (9, Weights(0, 100), "past the last of 9 steps"),
    ],
)
def test_a_basic_canary_reads_the_set_weight_of_its_step(
    fake_kube: FakeKube, conn: KubeConnection, index: int, weights: Weights, words: str
) -> None:
    def basic(doc: dict[str, Any]) -> None:
        del doc["spec"]["strategy"]["canary"]["trafficRouting"]
        status = doc["status"]
        status.update(canary={}, currentStepIndex=index, phase="Progressing", message=None)
        del status["pauseConditions"], status["controllerPause"], status["message"]

    fake_kube.put_object(rollout_doc(basic))
    state = router(conn).read()
    assert state.weights == weights
    assert state.progress is not None and words in state.progress.message
    assert state.progress.phase == Phase.PROGRESSING


def test_an_experiment_taking_traffic_is_said(fake_kube: FakeKube, conn: KubeConnection) -> None:
    def experiment(doc: dict[str, Any]) -> None:
        status = doc["status"]
        status.update(currentStepIndex=6, phase="Progressing", message="more replicas needed")
        del status["pauseConditions"], status["controllerPause"]
        weights = status["canary"]["weights"]
        weights["canary"]["weight"] = 25
        weights["stable"]["weight"] = 55
        weights["additional"] = [
            {"podTemplateHash": "8d7c6b5a4f", "serviceName": "checkout-baseline", "weight": 10},
            {"podTemplateHash": "9e8d7c6b5a", "serviceName": "checkout-candidate", "weight": 10},
        ]

    fake_kube.put_object(rollout_doc(experiment))
    state = router(conn).read()
    assert state.weights.canary == 25
    assert state.progress is not None
    assert "20% to experiment services (checkout-baseline, checkout-candidate)" in (
        state.progress.message
    )


def test_fully_promoted_as_the_controller_leaves_it(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    def healthy(doc: dict[str, Any]) -> None:
        status = doc["status"]
        status.update(currentStepIndex=9, phase="Healthy", stableRS=status["currentPodHash"])
        del status["pauseConditions"], status["controllerPause"], status["message"]
        status["canary"]["weights"]["canary"]["weight"] = 0
        status["canary"]["weights"]["stable"].update(weight=100, podTemplateHash="7f9c8d6b5d")

    fake_kube.put_object(rollout_doc(healthy))
    state = router(conn).read()
    assert state.weights == Weights(0, 100)
    assert state.progress is not None and state.progress.phase == Phase.PROMOTED


def test_a_rollout_the_controller_has_not_seen_yet(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    def fresh(doc: dict[str, Any]) -> None:
        del doc["status"]

    fake_kube.put_object(rollout_doc(fresh))
    argo = router(conn)
    state = argo.read()
    assert state.weights == Weights(100, 0)  # no canary until the controller starts one
    assert state.progress is not None and "no status yet" in state.progress.message
    with pytest.raises(
        MonotuiError, match="no status yet: is the Argo Rollouts controller running"
    ):
        argo.act(ActionKind.ADVANCE, state)


def test_blue_green_is_refused_with_what_to_use(fake_kube: FakeKube, conn: KubeConnection) -> None:
    def blue_green(doc: dict[str, Any]) -> None:
        doc["spec"]["strategy"] = {
            "blueGreen": {
                "activeService": "checkout-active",
                "previewService": "checkout-preview",
                "autoPromotionEnabled": False,
                "prePromotionAnalysis": {"templates": [{"templateName": "smoke"}]},
            }
        }
        doc["status"] = {
            "blueGreen": {"activeSelector": "5b6d7c8f9a", "previewSelector": "7f9c8d6b5d"},
            "phase": "Paused",
            "message": "BlueGreenPause",
            "pauseConditions": [{"reason": "BlueGreenPause", "startTime": "2024-06-11T08:03:40Z"}],
        }

    fake_kube.put_object(rollout_doc(blue_green))
    with pytest.raises(SourceError, match="blueGreen strategy: monotui steers canary Rollouts"):
        router(conn).read()


CLI_CONFIG = """
[audit]
path = "{audit}"

[[rollouts]]
name = "web"
namespace = "bookinfo"
[rollouts.router]
{router}
[rollouts.metrics]
kind = "none"
"""


@pytest.mark.parametrize(
    ("manifest", "router", "expected", "phase"),
    [
        ("istio-flagger-sticky", 'kind = "istio"\nname = "podinfo"\nmatch_by = "host"\n'
         'stable = "podinfo-primary"\ncanary = "podinfo-canary"', (70, 30), "Progressing"),
        ("gateway-guide", 'kind = "gateway-api"\nname = "reviews"\nstable = "reviews-v1"\n'
         'canary = "reviews-v2"', (90, 10), "Progressing"),
        ("argo-canary", 'kind = "argo"\nname = "checkout"', (95, 5), "Paused"),
    ],
)  # fmt: skip
def test_status_json_end_to_end(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path, manifest: str, router: str,
    expected: tuple[int, int], phase: str,
) -> None:  # fmt: skip
    """`monotui status --json` in a subprocess, KUBECONFIG at the fake API server."""
    text = Template((MANIFESTS / f"{manifest}.yaml").read_text()).substitute(version="v1")
    doc = yaml.safe_load(text)
    doc["metadata"]["namespace"] = NS
    fake_kube.put_object(doc)
    config = tmp_path / "monotui.toml"
    config.write_text(CLI_CONFIG.format(audit=tmp_path / "audit.jsonl", router=router))
    out = subprocess.run(
        [sys.executable, "-m", "monotui", "status", "--json", "-c", str(config)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "KUBECONFIG": str(fake_kubeconfig)},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    (status,) = json.loads(out.stdout)["rollouts"]
    assert status["name"] == "web" and status["namespace"] == "bookinfo"
    assert status["weights"] == {"stable": expected[0], "canary": expected[1]}
    assert status["phase"] == phase
    assert status["sources"]["router"]["state"] == "ok"
