"""The argo router with `[rollouts.router.traffic]`: the weights of the route the Rollout steers
(Argo Rollouts' Istio getting-started objects in the fake API server), the Rollout's own status
when that route cannot be read, and the verbs still Argo's."""

from __future__ import annotations

from monotui.model import ActionKind, Weights
from monotui.sources.kube import KubeConnection
from monotui.sources.router_argo import ArgoRouter
from tests.configs import rollout_config
from tests.discovery_helpers import seed
from tests.fakekube import FakeKube
from tests.router_helpers import conn_fixture

conn = conn_fixture()
TRAFFIC = {
    "kind": "istio",
    "name": "rollouts-demo-vsvc",
    "route": "primary",
    "stable": "rollouts-demo-stable",
    "canary": "rollouts-demo-canary",
}


def router(conn: KubeConnection) -> ArgoRouter:
    cfg = rollout_config(
        {
            "name": "rollouts-demo",
            "namespace": "default",
            "router": {"kind": "argo", "traffic": TRAFFIC},
            "metrics": {"kind": "none"},
        }
    )
    return ArgoRouter(conn, cfg)


def set_vs(fake: FakeKube, stable: int, canary: int) -> None:
    vs = fake.get_object("networking.istio.io", "v1", "virtualservices", "default", TRAFFIC["name"])
    route = vs["spec"]["http"][0]["route"]
    route[0]["weight"], route[1]["weight"] = stable, canary
    fake.put_object(vs)


def test_the_weights_are_the_virtual_services(fake_kube: FakeKube, conn: KubeConnection) -> None:
    seed(fake_kube, "argo-rollouts-demo")
    state = router(conn).read()
    assert state.weights == Weights(95, 5)
    assert state.progress is not None
    assert "weights from virtualservice default/rollouts-demo-vsvc" in state.progress.message
    set_vs(fake_kube, 90, 10)  # Argo moved the mesh before its status says so
    state = router(conn).read()
    assert state.weights == Weights(90, 10)
    assert state.progress is not None
    assert "the Rollout's status says 95/5" in state.progress.message


def test_an_unreadable_route_falls_back_to_the_status_and_says_why(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    seed(fake_kube, "argo-rollouts-demo")
    fake_kube.deny("get", "virtualservices")
    state = router(conn).read()
    assert state.weights == Weights(95, 5)
    assert state.progress is not None
    assert "unreadable (forbidden" in state.progress.message
    assert "weights from the status" in state.progress.message


def test_the_verbs_go_to_the_rollout_never_to_the_route(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    seed(fake_kube, "argo-rollouts-demo")
    argo = router(conn)
    result = argo.act(ActionKind.ROLLBACK, argo.read())
    assert result.state is not None
    rollout = fake_kube.get_object(
        "argoproj.io", "v1alpha1", "rollouts", "default", "rollouts-demo"
    )
    assert rollout["status"]["abort"] is True
    assert fake_kube.count_requests(method="PATCH", path="virtualservices") == 0
