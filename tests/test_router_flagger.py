"""The flagger router on Flagger's podinfo tutorial objects in the fake API server: the Canary's
phase, weight and checks beside its VirtualService's weights; pause/resume through spec.suspend,
compare-and-set; every other key refused with the reason, nothing sent."""

from __future__ import annotations

from typing import Any

import pytest

from monotui.audit import AuditLog
from monotui.errors import ConflictError
from monotui.model import Action, ActionKind, Phase, Weights
from monotui.rollout import Rollout, assemble
from monotui.sources.kube import KubeConnection
from monotui.sources.router_flagger import FlaggerRouter
from tests.configs import rollout_config
from tests.discovery_helpers import seed
from tests.fakekube import FakeKube
from tests.router_helpers import conn_fixture

conn = conn_fixture()
NS = "test"


CONFIG = {"name": "podinfo", "namespace": NS, "router": {"kind": "flagger"}}


def router(conn: KubeConnection) -> FlaggerRouter:
    return FlaggerRouter(conn, rollout_config(CONFIG | {"metrics": {"kind": "none"}}))


def controller(conn: KubeConnection) -> Rollout:
    cfg = rollout_config(CONFIG | {"metrics": {"kind": "none"}})
    return assemble(cfg, router=FlaggerRouter(conn, cfg), audit=AuditLog(None))


def canary(fake: FakeKube) -> dict[str, Any]:
    return fake.get_object("flagger.app", "v1beta1", "canaries", NS, "podinfo")


def vs_weights(fake: FakeKube) -> list[int]:
    vs = fake.get_object("networking.istio.io", "v1", "virtualservices", NS, "podinfo")
    return [entry["weight"] for entry in vs["spec"]["http"][0]["route"]]


def test_the_canary_and_its_virtual_service_side_by_side(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    seed(fake_kube, "flagger-podinfo")
    state = router(conn).read()
    assert state.weights == Weights(80, 20)
    assert state.progress is not None
    assert state.progress.steps == (10, 20, 30, 40, 50, 100)
    assert state.progress.phase == Phase.PROGRESSING
    message = state.progress.message
    assert "Flagger: Progressing" in message
    assert "canary weight 20" in message
    assert "failed checks 1/5" in message
    assert "virtualservice podinfo: 80/20" in message


def test_a_disagreement_between_canary_and_virtual_service_is_said(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    seed(fake_kube, "flagger-podinfo")
    vs = fake_kube.get_object("networking.istio.io", "v1", "virtualservices", NS, "podinfo")
    vs["spec"]["http"][0]["route"][0]["weight"] = 70
    vs["spec"]["http"][0]["route"][1]["weight"] = 30
    fake_kube.put_object(vs)
    state = router(conn).read()
    assert state.weights == Weights(70, 30)  # what the mesh does
    assert state.progress is not None
    assert "the Canary says 20, its VirtualService 30" in state.progress.message


def test_without_its_virtual_service_the_canary_weight_is_shown_and_why(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    seed(fake_kube, "flagger-podinfo")
    fake_kube.delete_object("networking.istio.io", "virtualservices", NS, "podinfo")
    state = router(conn).read()
    assert state.weights == Weights(80, 20)
    assert state.progress is not None
    assert "virtualservice podinfo unreadable" in state.progress.message
    assert "weights from status.canaryWeight" in state.progress.message


@pytest.mark.parametrize("provider", ["nginx", "linkerd", "kubernetes", "smi:v1alpha3"])
def test_a_provider_monotui_does_not_read_shows_the_canary_weight_without_a_get(
    fake_kube: FakeKube, conn: KubeConnection, provider: str
) -> None:
    seed(fake_kube, "flagger-podinfo")
    fake_kube.delete_object("networking.istio.io", "virtualservices", NS, "podinfo")
    obj = canary(fake_kube)
    obj["spec"]["provider"] = provider
    fake_kube.put_object(obj)
    reader = router(conn)
    fake_kube.requests.clear()
    state = reader.read()
    assert state.weights == Weights(80, 20)
    assert state.progress is not None
    assert f"provider {provider}: Flagger routes it with objects monotui does not read" in (
        state.progress.message
    )
    assert not [r for r in fake_kube.requests if r.resource == "virtualservices"]
    assert "status.canaryWeight" in reader.check()


@pytest.mark.parametrize(
    ("kind", "how"),
    [
        (ActionKind.ADVANCE, "advances by itself"),
        (ActionKind.ROLLBACK, "rollback webhook gate"),
        (ActionKind.PROMOTE, "skipAnalysis"),
        (ActionKind.SET_WEIGHT, "stepWeight"),
    ],
)
def test_steering_keys_are_refused_with_the_reason_and_nothing_is_sent(
    fake_kube: FakeKube, conn: KubeConnection, kind: ActionKind, how: str
) -> None:
    seed(fake_kube, "flagger-podinfo")
    ctl = controller(conn)
    ctl.cycle()
    before = canary(fake_kube)
    writes = fake_kube.count_requests(method="PATCH")
    result = ctl.apply(Action(kind, "podinfo", origin="key", weight_pct=40))
    assert not result.ok
    assert result.message.startswith(
        "Flagger overwrites direct edits of its VirtualService podinfo; steer canary test/podinfo "
        "with Flagger: "
    )
    assert how in result.message and result.message.endswith("Nothing was sent")
    assert result.exit_code == 2
    assert fake_kube.count_requests(method="PATCH") == writes
    assert canary(fake_kube) == before and vs_weights(fake_kube) == [80, 20]


def test_pause_and_resume_suspend_the_canary_compare_and_set(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    seed(fake_kube, "flagger-podinfo")
    ctl = controller(conn)
    ctl.cycle()
    paused = ctl.apply(Action(ActionKind.PAUSE, "podinfo", origin="key"))
    assert paused.ok, paused.message
    assert "suspended the canary (spec.suspend)" in paused.message
    assert canary(fake_kube)["spec"]["suspend"] is True
    snap = ctl.cycle()
    assert snap.plan.paused and snap.plan.phase == Phase.PAUSED
    again = ctl.apply(Action(ActionKind.PAUSE, "podinfo", origin="key"))
    assert again.ok and not again.changed
    resumed = ctl.apply(Action(ActionKind.RESUME, "podinfo", origin="key"))
    assert resumed.ok, resumed.message
    assert canary(fake_kube)["spec"]["suspend"] is False
    assert vs_weights(fake_kube) == [80, 20]  # the weights were never touched


def test_a_resume_after_someone_else_resumed_is_a_conflict(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    seed(fake_kube, "flagger-podinfo")
    obj = canary(fake_kube)
    obj["spec"]["suspend"] = True
    fake_kube.put_object(obj)
    flagger = router(conn)
    seen = flagger.read()
    obj = canary(fake_kube)
    obj["spec"]["suspend"] = False  # someone resumed it (kubectl patch) since we read it
    fake_kube.put_object(obj)
    with pytest.raises(ConflictError):
        flagger.act(ActionKind.RESUME, seen)
    assert canary(fake_kube)["spec"]["suspend"] is False
