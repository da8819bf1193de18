"""What a user sees when the API refuses a verb, lacks the Rollout or its CRDs, or loses an answer;
and the CRD without a status subresource. (What every router does, the watch and an unreachable API
included, is the contract suite's: tests/test_contract_routers.py.)"""

from __future__ import annotations

import pytest

from monotui.errors import BackendUnavailableError, NotFoundError, PermissionDeniedError
from monotui.model import ActionKind
from monotui.sources.kube import KubeConnection
from monotui.sources.router_argo import ArgoRouter
from tests.argo_helpers import (
    ARGO,
    argo_rollout,
    comparable,
    kubectl,
    rollout_obj,
    running,
    stored,
)
from tests.fakekube import FakeKube
from tests.router_helpers import NS, conn_fixture

conn = conn_fixture(timeout_s=0.5)  # a dropped or slow answer fails in half a second


@pytest.fixture
def router(fake_kube: FakeKube, conn: KubeConnection) -> ArgoRouter:
    fake_kube.put_object(running())
    return ArgoRouter(conn, argo_rollout())


def test_403_on_the_status_subresource_names_it(fake_kube: FakeKube, router: ArgoRouter) -> None:
    state = router.read()
    fake_kube.deny("patch", "rollouts/status", NS)
    with pytest.raises(PermissionDeniedError) as caught:
        router.act(ActionKind.ROLLBACK, state)
    text = str(caught.value)
    assert "cannot patch rollout reviews/status in namespace bookinfo" in text
    assert "needs 'patch' on rollouts/status (API group argoproj.io)" in text
    assert caught.value.exit_code == 4
    assert "abort" not in stored(fake_kube)["status"]


def test_403_on_the_main_resource_for_pause(fake_kube: FakeKube, router: ArgoRouter) -> None:
    state = router.read()
    fake_kube.deny("patch", "rollouts", NS)
    with pytest.raises(PermissionDeniedError, match="needs 'patch' on rollouts \\(API group"):
        router.act(ActionKind.PAUSE, state)


def test_half_applied_advance_says_so(fake_kube: FakeKube, conn: KubeConnection) -> None:
    # Paused at a pause step: advance clears the pause (status), then unpauses (spec).
    fake_kube.put_object(rollout_obj(paused=True))
    router = ArgoRouter(conn, argo_rollout())
    state = router.read()
    fake_kube.deny("patch", "rollouts", NS)  # the status subresource is still allowed
    with pytest.raises(PermissionDeniedError) as caught:
        router.act(ActionKind.ADVANCE, state)
    assert "the status patch was applied, but unpausing spec.paused was not" in str(caught.value)
    after = stored(fake_kube)
    assert "pauseConditions" not in after["status"] and after["spec"]["paused"] is True


def test_403_on_get(fake_kube: FakeKube, router: ArgoRouter) -> None:
    fake_kube.deny("get", "rollouts", NS)
    with pytest.raises(PermissionDeniedError, match="cannot get rollout reviews in namespace"):
        router.read()


def test_a_missing_rollout_is_exit_2_and_names_it(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    with pytest.raises(NotFoundError) as caught:
        ArgoRouter(conn, argo_rollout(name="ratings")).read()
    assert "rollout ratings not found in namespace bookinfo" in str(caught.value)
    assert caught.value.exit_code == 2


def test_no_argo_crds_says_so(fake_kube: FakeKube, router: ArgoRouter) -> None:
    fake_kube.unserve(ARGO)
    with pytest.raises(
        NotFoundError, match="serves no rollouts.argoproj.io/v1alpha1 API: are Argo"
    ):
        router.read()


def test_a_lost_answer_may_have_been_applied(fake_kube: FakeKube, router: ArgoRouter) -> None:
    state = router.read()
    fake_kube.fail_next(1, method="PATCH", drop=True)
    with pytest.raises(BackendUnavailableError, match="MAY have been applied; it now reads"):
        router.act(ActionKind.ROLLBACK, state)


def test_without_a_status_subresource_status_goes_to_the_object(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    # Argo Rollouts < 0.10 had no status subresource: kubectl patches the object itself then.
    fake_kube.unserve(ARGO)
    fake_kube.serve(ARGO, ["v1alpha1"], {"rollouts": "Rollout"}, status_subresource=False)
    fake_kube.put_object(running())
    router = ArgoRouter(conn, argo_rollout())
    before = stored(fake_kube)
    router.act(ActionKind.ROLLBACK, router.read())
    assert comparable(stored(fake_kube)) == kubectl(before, {"status": {"abort": True}})
    methods = [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake_kube.requests[-2:]]
    assert methods == [("PATCH", "status"), ("PATCH", "reviews")]
