"""The Argo Rollouts router against the fake API server, through the real kubernetes client: what it
reads from realistic Rollouts, and that its verbs leave the object as kubectl argo rollouts would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monotui.errors import ConfigError, ConflictError, MonotuiError, SourceError
from monotui.model import ActionKind, Phase, Weights
from monotui.sources.base import StepStatus
from monotui.sources.kube import KubeConnection
from monotui.sources.router_argo import ArgoRouter
from tests.argo_helpers import (
    CANARY_HASH,
    aborted,
    argo_rollout,
    comparable,
    kubectl,
    promoted,
    rollout_obj,
    running,
    stored,
    traffic,
)
from tests.fakekube import FakeKube
from tests.router_helpers import conn_fixture

conn = conn_fixture()


def _progress(router: ArgoRouter) -> StepStatus:
    """The steps and phase the router reported on its last read (read again here)."""
    progress = router.read().progress
    assert progress is not None
    return progress


def router_on(fake: FakeKube, conn: KubeConnection, obj: dict[str, Any]) -> ArgoRouter:
    fake.put_object(obj)
    return ArgoRouter(conn, argo_rollout())


def patches(fake: FakeKube) -> list[tuple[str, Any]]:
    """(path, body) of every PATCH the server got."""
    return [(r.path, r.body) for r in fake.requests if r.method == "PATCH"]


# --- reading -----------------------------------------------------------------------------------


def test_reads_the_mesh_weights_steps_and_pause(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, rollout_obj(status={"canary": {"weights": traffic(10)}}))
    state = router.read()
    assert state.weights == Weights(90, 10)
    assert state.version == stored(fake_kube)["metadata"]["resourceVersion"]
    assert state.resource == "rollout bookinfo/reviews"
    assert _progress(router).steps == (10, 20, 50, 100)
    assert _progress(router).phase == Phase.PAUSED
    assert state.progress is not None and state.progress.steps == (10, 20, 50, 100)
    assert state.progress.step_index == 1 and state.progress.step_count == 8
    assert router.message() == "step 2/8 (pause until promoted); Argo: Paused CanaryPauseStep"


def test_traffic_weights_win_over_the_step(fake_kube: FakeKube, conn: KubeConnection) -> None:
    # At step 3 (setWeight 20) Argo has not yet moved the mesh: what the mesh gets is shown.
    obj = rollout_obj(index=2, status={"phase": "Progressing", "pauseConditions": None})
    router = router_on(fake_kube, conn, obj)
    assert router.read().weights == Weights(90, 10)
    assert _progress(router).phase == Phase.PROGRESSING


def test_max_traffic_weight_scales_weights_and_steps(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    obj = rollout_obj(status={"canary": {"weights": traffic(250, 750)}})
    obj["spec"]["strategy"]["canary"]["trafficRouting"]["maxTrafficWeight"] = 1000
    for step in obj["spec"]["strategy"]["canary"]["steps"]:
        if "setWeight" in step:
            step["setWeight"] *= 10
    router = router_on(fake_kube, conn, obj)
    assert router.read().weights == Weights(75, 25)
    assert _progress(router).steps == (10, 20, 50, 100)


@pytest.mark.parametrize(
    ("index", "canary", "where"),
    [
        (0, 20, "step 1/8 (setWeight 20)"),
        (2, 40, "step 3/8 (setWeight 40)"),
        (3, 40, "step 4/8 (pause 10s)"),  # a pause keeps the weight of the setWeight before it
        (7, 80, "step 8/8 (pause 10s)"),
        (8, 100, "past the last of 8 steps"),
    ],
)
def test_without_traffic_routing_the_weight_is_the_current_set_weight(
    fake_kube: FakeKube, conn: KubeConnection, index: int, canary: int, where: str
) -> None:
    router = router_on(fake_kube, conn, running(currentStepIndex=index))
    assert router.read().weights == Weights.canary_at(canary)
    assert _progress(router).steps == (20, 40, 60, 80, 100)
    assert router.message().startswith(where)


def test_no_set_weight_before_the_current_step_is_zero(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    obj = running(currentStepIndex=0)
    obj["spec"]["strategy"]["canary"]["steps"].insert(0, {"pause": {"duration": "30s"}})
    assert router_on(fake_kube, conn, obj).read().weights == Weights(100, 0)


def test_aborted_is_rolled_back_with_argos_reason(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    router = router_on(fake_kube, conn, aborted())
    assert router.read().weights == Weights(100, 0)
    assert _progress(router).phase == Phase.ROLLED_BACK
    assert 'Metric "success-rate" assessed Failed' in router.message()
    # Without traffic routing an abort is 0 whatever the step's setWeight says.
    router = router_on(fake_kube, conn, running(abort=True, currentStepIndex=4))
    assert router.read().weights == Weights(100, 0)


def test_fully_promoted_is_canary_100(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, promoted())
    assert router.read().weights == Weights(0, 100)
    assert _progress(router).phase == Phase.PROMOTED
    assert router.message() == "fully promoted; Argo: Healthy"


def test_degraded_without_abort_is_failed(fake_kube: FakeKube, conn: KubeConnection) -> None:
    obj = running(phase="Degraded", message="ProgressDeadlineExceeded: timed out progressing")
    router = router_on(fake_kube, conn, obj)
    router.read()
    assert _progress(router).phase == Phase.FAILED


def test_blue_green_is_refused_with_the_reason(fake_kube: FakeKube, conn: KubeConnection) -> None:
    obj = rollout_obj()
    obj["spec"]["strategy"] = {"blueGreen": {"activeService": "reviews"}}
    with pytest.raises(SourceError, match="blueGreen strategy: monotui steers canary Rollouts"):
        router_on(fake_kube, conn, obj).read()


# --- the verbs, as kubectl argo rollouts would leave the object ---------------------------------


def test_advance_at_a_pause_step_clears_the_pause_conditions(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    router = router_on(fake_kube, conn, rollout_obj())
    before = stored(fake_kube)
    result = router.act(ActionKind.ADVANCE, router.read())
    # kubectl argo rollouts promote: {"status":{"pauseConditions":null}} on /status.
    assert comparable(stored(fake_kube)) == kubectl(before, {"status": {"pauseConditions": None}})
    ((path, body),) = patches(fake_kube)
    assert path.endswith("/rollouts/reviews/status")
    assert {"op": "test", "path": "/status/currentPodHash", "value": CANARY_HASH} in body
    assert result.patch == f"rollouts/reviews/status {json.dumps(body)}"
    assert result.note == "promoted: the pause (CanaryPauseStep) at step 2/8 is over"
    assert (
        result.state is not None and result.state.version != before["metadata"]["resourceVersion"]
    )


def test_advance_elsewhere_goes_to_the_next_step(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, running())
    before = stored(fake_kube)
    result = router.act(ActionKind.ADVANCE, router.read())
    expected = kubectl(before, {"status": {"pauseConditions": None, "currentStepIndex": 3}})
    assert comparable(stored(fake_kube)) == expected
    assert result.note == "promoted: skipped step 3/8 (setWeight 40)"
    assert result.state is not None and result.state.weights == Weights(60, 40)  # the pause after


def test_advance_when_paused_also_unpauses_the_spec(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    router = router_on(fake_kube, conn, rollout_obj(paused=True))
    before = stored(fake_kube)
    router.act(ActionKind.ADVANCE, router.read())
    after = kubectl(before, {"status": {"pauseConditions": None}}, {"spec": {"paused": False}})
    assert comparable(stored(fake_kube)) == after
    paths = [p for p, _ in patches(fake_kube)]
    assert paths[0].endswith("/reviews/status") and paths[1].endswith("/rollouts/reviews")


def test_promote_full_requests_a_full_promotion(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, running())
    before = stored(fake_kube)
    result = router.act(ActionKind.PROMOTE, router.read())
    assert comparable(stored(fake_kube)) == kubectl(before, {"status": {"promoteFull": True}})
    assert result.state is not None and result.state.weights == Weights(0, 100)


def test_rollback_aborts(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, running())
    before = stored(fake_kube)
    result = router.act(ActionKind.ROLLBACK, router.read())
    assert comparable(stored(fake_kube)) == kubectl(before, {"status": {"abort": True}})
    assert result.state is not None and result.state.weights == Weights(100, 0)
    assert result.state.progress is not None and result.state.progress.phase == Phase.ROLLED_BACK


def test_advance_on_an_aborted_rollout_retries_it(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    router = router_on(fake_kube, conn, aborted())
    before = stored(fake_kube)
    result = router.act(ActionKind.ADVANCE, router.read())
    assert comparable(stored(fake_kube)) == kubectl(before, {"status": {"abort": False}})
    assert result.note.startswith("retried")


def test_pause_and_resume_set_spec_paused(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, running())
    before = stored(fake_kube)
    paused = router.act(ActionKind.PAUSE, router.read())
    assert comparable(stored(fake_kube)) == kubectl(before, {"spec": {"paused": True}})
    assert "in the cluster" in paused.note and patches(fake_kube)[0][0].endswith("/reviews")
    assert paused.state is not None and paused.state.progress is not None
    assert paused.state.progress.paused and paused.state.progress.phase == Phase.PAUSED
    router.act(ActionKind.RESUME, paused.state)
    assert comparable(stored(fake_kube)) == kubectl(before, {"spec": {"paused": False}})


def test_set_weight_is_refused_and_nothing_is_sent(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    router = router_on(fake_kube, conn, running())
    with pytest.raises(ConfigError, match="moves weights by its steps: use advance, promote or"):
        router.write(Weights(50, 50), router.read())
    assert patches(fake_kube) == []


@pytest.mark.parametrize(
    ("obj", "kind", "note"),
    [
        (promoted(), ActionKind.ADVANCE, "already fully promoted"),
        (promoted(), ActionKind.PROMOTE, "already fully promoted"),
        (aborted(), ActionKind.ROLLBACK, "already aborted"),
        (rollout_obj(paused=True), ActionKind.PAUSE, "already paused"),
        (rollout_obj(), ActionKind.RESUME, "it waits at a pause step, advance goes on"),
    ],
)
def test_nothing_to_do_sends_nothing(
    fake_kube: FakeKube, conn: KubeConnection, obj: dict[str, Any], kind: ActionKind, note: str
) -> None:
    router = router_on(fake_kube, conn, obj)
    result = router.act(kind, router.read())
    assert note in result.note and result.patch == ""
    assert patches(fake_kube) == []


def test_refusals_say_what_to_do(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, aborted())
    with pytest.raises(MonotuiError, match="is aborted: advance .a. retries it first"):
        router.act(ActionKind.PROMOTE, router.read())
    router = router_on(fake_kube, conn, promoted())
    with pytest.raises(MonotuiError, match="no canary to abort.*kubectl argo rollouts undo"):
        router.act(ActionKind.ROLLBACK, router.read())
    assert patches(fake_kube) == []


def test_dry_run_returns_the_exact_patch_and_sends_nothing(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    router = router_on(fake_kube, conn, rollout_obj(paused=True))
    before = stored(fake_kube)
    dry = router.act(ActionKind.ADVANCE, router.read(), dry_run=True)
    assert dry.state is None and patches(fake_kube) == []
    assert stored(fake_kube) == before
    wet = router.act(ActionKind.ADVANCE, router.read())
    sent = [
        f"rollouts/reviews{'/status' if p.endswith('/status') else ''} {json.dumps(b)}"
        for p, b in patches(fake_kube)
    ]
    assert dry.patch == wet.patch == "\n".join(sent)


# --- compare-and-set ----------------------------------------------------------------------------


def test_a_step_taken_meanwhile_is_a_conflict(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, running())
    state = router.read()
    fake_kube.put_object(running(currentStepIndex=3))  # the Argo controller moved on
    moved = stored(fake_kube)
    with pytest.raises(ConflictError, match="changed since it was read; nothing was applied"):
        router.act(ActionKind.ADVANCE, state)
    assert stored(fake_kube) == moved


def test_a_new_revision_meanwhile_is_a_conflict(fake_kube: FakeKube, conn: KubeConnection) -> None:
    router = router_on(fake_kube, conn, running())
    state = router.read()
    fake_kube.put_object(running(currentPodHash="7f00ba11", currentStepIndex=0))
    with pytest.raises(ConflictError):
        router.act(ActionKind.ROLLBACK, state)  # never abort a revision the user did not see
    assert "abort" not in stored(fake_kube)["status"]


def test_a_pause_landing_meanwhile_is_a_conflict(fake_kube: FakeKube, conn: KubeConnection) -> None:
    # Just reached the pause step, its condition not yet written: advancing now would skip the
    # pause AND the step after it once Argo adds the condition. It must not apply.
    router = router_on(fake_kube, conn, rollout_obj(routing=False, status={"pauseConditions": []}))
    state = router.read()
    fake_kube.put_object(rollout_obj(routing=False))  # Argo adds CanaryPauseStep
    with pytest.raises(ConflictError):
        router.act(ActionKind.ADVANCE, state)
    assert stored(fake_kube)["status"]["currentStepIndex"] == 1


def test_status_churn_is_not_a_conflict(fake_kube: FakeKube, conn: KubeConnection) -> None:
    # The Argo controller rewrites replica counts and conditions all the time: pinning the
    # resourceVersion would make nearly every key press a conflict; the pinned fields did not move.
    router = router_on(fake_kube, conn, running())
    state = router.read()
    fake_kube.put_object(running(readyReplicas=4, availableReplicas=4))
    router.act(ActionKind.ADVANCE, state)
    assert stored(fake_kube)["status"]["currentStepIndex"] == 3
