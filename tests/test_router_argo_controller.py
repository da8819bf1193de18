"""The controller and the command line steering an Argo Rollout on the fake API server: the plan is
the Rollout's steps, the keys are Argo's verbs, and the CLI exits as DESIGN.md says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from monotui.audit import AuditLog, read_audit
from monotui.model import Action, ActionKind, EventLevel, Phase, Weights
from monotui.rollout import Rollout, assemble
from monotui.sources.kube import KubeConnection
from monotui.sources.router_argo import ArgoRouter
from tests.argo_helpers import argo_rollout, comparable, kubectl, rollout_obj, running, stored
from tests.fakekube import FakeKube
from tests.router_helpers import conn_fixture, judged_healthy

ROOT = Path(__file__).resolve().parent.parent


conn = conn_fixture()


def controller(conn: KubeConnection, audit: AuditLog | None = None, **kw: Any) -> Rollout:
    cfg = argo_rollout()
    return assemble(
        cfg, router=ArgoRouter(conn, cfg), audit=audit or AuditLog(None), context=conn.context, **kw
    )


def act(ctl: Rollout, kind: ActionKind, pct: int | None = None) -> Any:
    return ctl.apply(Action(kind, "reviews", origin="key", weight_pct=pct))


def test_the_plan_is_the_rollouts_steps(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(rollout_obj())
    snap = controller(conn).cycle()
    assert snap.plan.steps == (10, 20, 50, 100)
    assert snap.plan.canary_pct == 10 and snap.plan.phase == Phase.PAUSED
    assert snap.backend == "argo" and snap.weights == Weights(90, 10)
    router = snap.source("router")
    assert router is not None and "step 2/8 (pause until promoted)" in router.message
    assert snap.next_action == "a advances to 20 %"


def test_advance_promotes_and_is_audited(
    fake_kube: FakeKube, conn: KubeConnection, tmp_path: Path
) -> None:
    fake_kube.put_object(rollout_obj())
    before = stored(fake_kube)
    ctl = controller(conn, AuditLog(tmp_path / "audit.jsonl"))
    ctl.cycle()
    result = act(ctl, ActionKind.ADVANCE)
    assert result.ok, result.message
    assert result.message == "promoted: the pause (CanaryPauseStep) at step 2/8 is over"
    assert comparable(stored(fake_kube)) == kubectl(before, {"status": {"pauseConditions": None}})
    (record,) = read_audit(tmp_path / "audit.jsonl")
    assert record["action"] == "advance" and record["resource"] == "rollout bookinfo/reviews"
    assert record["result"] == "ok" and "/status/pauseConditions" in record["patch"]


def test_pause_pauses_the_rollout_in_the_cluster(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(running())
    ctl = controller(conn)
    ctl.cycle()
    result = act(ctl, ActionKind.PAUSE)
    assert "paused the rollout in the cluster (spec.paused)" in result.message
    assert stored(fake_kube)["spec"]["paused"] is True
    snap = ctl.snapshot()
    assert snap.plan.paused and snap.plan.phase == Phase.PAUSED
    assert act(ctl, ActionKind.RESUME).ok and stored(fake_kube)["spec"]["paused"] is False
    assert not ctl.snapshot().plan.paused


def test_set_weight_is_refused_with_exit_2(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(running())
    ctl = controller(conn)
    result = act(ctl, ActionKind.SET_WEIGHT, 30)
    assert not result.ok and result.exit_code == 2
    assert "moves weights by its steps: use advance, promote or abort" in result.message
    assert not [r for r in fake_kube.requests if r.method == "PATCH"]


def test_rollback_aborts_and_a_conflict_writes_nothing(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(running())
    ctl = controller(conn)
    ctl.cycle()
    fake_kube.put_object(running(currentPodHash="7f00ba11", currentStepIndex=0))  # a new revision
    result = act(ctl, ActionKind.ROLLBACK)
    assert not result.ok and result.exit_code == 3 and "conflict" in result.message
    assert "abort" not in stored(fake_kube)["status"]
    result = act(ctl, ActionKind.ROLLBACK)  # the conflict re-read the rollout: now it applies
    assert result.ok and stored(fake_kube)["status"]["abort"] is True
    assert ctl.snapshot().plan.phase == Phase.ROLLED_BACK


def test_argo_moving_the_weights_is_news_not_a_warning(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(running())
    ctl = controller(conn)
    ctl.cycle()
    fake_kube.put_object(running(currentStepIndex=4))
    snap = ctl.cycle()
    assert snap.weights == Weights(40, 60)
    (event,) = [e for e in snap.events if e.kind == "outside"]
    assert event.text == "argo moved the weights: 60/40 -> 40/60"
    assert event.level == EventLevel.INFO


# --- the command line ---------------------------------------------------------------------------


def cli(kubeconfig: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "monotui.toml"
    config.write_text(
        f"""
[audit]
path = "{tmp_path / "audit.jsonl"}"

[[rollouts]]
name = "reviews"
namespace = "bookinfo"

[rollouts.router]
kind = "argo"

[rollouts.metrics]
kind = "none"
"""
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run(
        [sys.executable, "-m", "monotui", *args, "-c", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_cli_status_json_and_advance(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(rollout_obj())
    out = cli(fake_kubeconfig, tmp_path, "status", "--json")
    assert out.returncode == 0, out.stderr
    (status,) = json.loads(out.stdout)["rollouts"]
    assert status["backend"] == "argo" and status["phase"] == "Paused"
    assert status["weights"] == {"stable": 90, "canary": 10}
    assert status["steps"] == [10, 20, 50, 100] and status["step"] == {"index": 0, "of": 4}
    assert "CanaryPauseStep" in status["sources"]["router"]["message"]

    before = stored(fake_kube)
    out = cli(fake_kubeconfig, tmp_path, "advance", "--rollout", "reviews", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("rollouts/reviews/status [")
    assert stored(fake_kube) == before

    out = cli(fake_kubeconfig, tmp_path, "advance", "--rollout", "reviews")
    assert out.returncode == 0, out.stderr
    assert "the pause (CanaryPauseStep) at step 2/8 is over" in out.stdout
    assert comparable(stored(fake_kube)) == kubectl(before, {"status": {"pauseConditions": None}})


def test_cli_refusals_exit_codes(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(running())
    out = cli(fake_kubeconfig, tmp_path, "set-weight", "--rollout", "reviews", "30")
    assert out.returncode == 2 and "moves weights by its steps" in out.stderr
    out = cli(fake_kubeconfig, tmp_path, "rollback", "--rollout", "reviews", "--read-only")
    assert out.returncode == 4
    fake_kube.deny("patch", "rollouts/status")
    out = cli(fake_kubeconfig, tmp_path, "rollback", "--rollout", "reviews")
    assert out.returncode == 4 and "rollouts/status" in out.stderr
    assert "Traceback" not in out.stderr and "abort" not in stored(fake_kube)["status"]


def test_automation_never_promotes_a_rollout_that_argo_is_still_stepping(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(running())  # Progressing: Argo is mid-step, nothing waits for a human
    ctl, world = judged_healthy(argo_rollout(), lambda cfg: ArgoRouter(conn, cfg))
    for _ in range(12):
        world.advance(10)
        snap = ctl.cycle()
    assert snap.verdict.result.value == "PASS", snap.verdict.reason
    assert [r for r in fake_kube.requests if r[0] == "PATCH"] == []

    fake_kube.put_object(rollout_obj())  # now paused at a `pause: {}` step: the judge may promote
    for _ in range(2):  # once the canary has served at this step
        world.advance(10)
        ctl.cycle()
    patches = [r for r in fake_kube.requests if r[0] == "PATCH"]
    assert patches, "a PASS at a pause step should promote under policy auto"
    assert "pauseConditions" in str(patches[0][3])
