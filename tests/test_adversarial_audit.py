"""Adversarial: no write without its audit record.

The audit path fails in every way the machine can make real (a directory, a folder that is a
file, a place even root may not write, a full tmpfs, /dev/full) and by injected short writes; a
router that hangs after the PATCH was applied; a bug in a router; kill -9 between intent and
outcome. Each test asserts what a user sees: the world unchanged when the intent could not be
recorded, one clean line with exit code 4, "uncertain" (never "failed") for a write that went out.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from monotui import cli
from monotui.audit import UNCERTAIN, AuditLog, read_audit
from monotui.commands.common import secrets_of
from monotui.model import Action, ActionKind, Weights
from monotui.rollout import assemble
from monotui.sim.demo import Demo, build_demo
from monotui.sim.sources import SimRouter
from monotui.sources.base import RouteState, WriteResult
from monotui.sources.router_istio import IstioRouter
from tests.configs import parse, reviews_toml
from tests.fakekube import FakeKube
from tests.router_helpers import ISTIO, NS, kube, no_metrics, rollout, virtual_service, wait_for
from tests.test_audit_wal import fill, tmpfs

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = (
    Action(ActionKind.ADVANCE, "checkout"),
    Action(ActionKind.SET_WEIGHT, "checkout", weight_pct=40),
    Action(ActionKind.PROMOTE, "checkout"),
    Action(ActionKind.ROLLBACK, "checkout"),
    Action(ActionKind.PAUSE, "checkout"),
    Action(ActionKind.TOGGLE_FLAG, "checkout", flag_key="new-checkout"),
)


def _short_writer(fd: int, data: memoryview) -> int:
    return 0  # the disk takes nothing


@contextmanager
def broken_audit(kind: str, tmp_path: Path) -> Iterator[AuditLog]:
    """An audit log that cannot record a line, made real where the machine allows it."""
    if kind == "directory":
        folder = tmp_path / "audit.jsonl"
        folder.mkdir()
        yield AuditLog(folder)
    elif kind == "folder-is-a-file":
        (tmp_path / "state").write_text("not a folder")
        yield AuditLog(tmp_path / "state" / "audit.jsonl")
    elif kind == "not-writable":
        yield AuditLog(Path("/sys/monotui-audit.jsonl"))  # EACCES even for root
    elif kind == "full-disk":
        with tmpfs("size=64k") as where:
            fill(where)
            yield AuditLog(where / "audit.jsonl")
    elif kind == "dev-full":
        yield AuditLog(Path("/dev/full"))  # every write: ENOSPC
    elif kind == "short-write":
        yield AuditLog(tmp_path / "audit.jsonl", writer=_short_writer)
    else:  # pragma: no cover - a typo in the parameters
        raise AssertionError(kind)


BROKEN = ("directory", "folder-is-a-file", "not-writable", "full-disk", "dev-full", "short-write")


def world_state(demo: Demo) -> tuple[Weights, object, object]:
    weights, _ = demo.world.route("checkout")
    specs, _ = demo.world.flags("checkout")
    stored = demo.rollout("checkout").actuator.router.read().pause
    return weights, tuple((s.key, s.state, s.default_variant) for s in specs), stored


@pytest.mark.parametrize("kind", BROKEN)
def test_no_action_changes_the_world_when_its_intent_cannot_be_recorded(
    kind: str, tmp_path: Path
) -> None:
    with broken_audit(kind, tmp_path) as audit:
        demo = build_demo("healthy", seed=3, realtime=False, audit=audit)
        demo.start()
        checkout = demo.rollout("checkout")
        before = world_state(demo)
        for action in ACTIONS:
            result = checkout.apply(action)
            assert not result.ok and result.exit_code == 4, (action.kind, result.message)
            assert "cannot record the intent" in result.message
            assert "nothing was changed" in result.message and "\n" not in result.message
        assert world_state(demo) == before
        if kind == "short-write":
            assert (tmp_path / "audit.jsonl").read_bytes() == b""  # no half line left behind
        demo.close()


def test_the_automation_moves_nothing_without_an_audit(tmp_path: Path) -> None:
    with broken_audit("directory", tmp_path) as audit:
        demo = build_demo("healthy", seed=3, realtime=False, policy="auto", audit=audit)
        demo.start()
        start = demo.world.route("checkout")[0]
        for _ in range(40):  # a healthy canary: the automation would advance several steps
            demo.tick()
        assert demo.world.route("checkout")[0] == start
        refused = [e for e in demo.rollout("checkout").events() if "cannot record" in e.text]
        assert refused, "the automation's refused advances are told"
        demo.close()


def test_a_healthy_automation_is_audited_intent_then_outcome(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    demo = build_demo("healthy", seed=3, realtime=False, policy="auto", audit=AuditLog(path))
    demo.start()
    for _ in range(40):
        demo.tick()
    moved = demo.world.route("checkout")[0].canary
    assert moved > 1
    raw = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["phase"] for r in raw[:2]] == ["intent", "outcome"]  # the intent went first
    assert raw[0]["id"] == raw[1]["id"]
    records = [r for r in read_audit(path) if r["rollout"] == "checkout"]
    assert records and all(r["result"] == "ok" and r["origin"] == "automation" for r in records)
    assert records[-1]["after"] == str(Weights.canary_at(moved))
    demo.close()


def test_an_outcome_that_cannot_be_recorded_says_the_action_ran(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    calls: list[int] = []

    def second_write_fails(fd: int, data: memoryview) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)

    demo = build_demo(
        "healthy", seed=3, realtime=False, audit=AuditLog(path, writer=second_write_fails)
    )
    demo.start()
    result = demo.rollout("checkout").apply(Action(ActionKind.ADVANCE, "checkout"))
    assert result.ok, result.message  # the route moved: it says so
    assert demo.world.route("checkout")[0] == Weights(95, 5)
    assert "could not record" in result.message and "the disk is full" in result.message
    (record,) = read_audit(path)
    assert record["result"] == "uncertain" and record["after"] == "95/5"  # the intent survived


class _BuggyRouter(SimRouter):
    """A router with a bug that strikes after the intent, in the middle of its write."""

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        raise RuntimeError("index out of range\nwhile building the patch")


def test_a_bug_in_a_write_still_gets_its_outcome_and_one_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    demo = build_demo("healthy", seed=3, realtime=False)
    cfg = demo.rollout("checkout").config
    ctl = assemble(cfg, router=_BuggyRouter(demo.world, "checkout"), audit=AuditLog(path))
    result = ctl.apply(Action(ActionKind.ADVANCE, "checkout"))
    assert not result.ok and result.exit_code == 1
    assert "unexpected RuntimeError" in result.message and "\n" not in result.message
    (record,) = read_audit(path)
    assert record["phase"] == "paired" and record["result"] == "failed"


def test_a_bug_in_a_command_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from monotui.commands import status

    def crash(args: Any) -> int:
        raise KeyError("a\nb")

    monkeypatch.setattr(status, "run", crash)
    monkeypatch.delenv("MONOTUI_DEBUG", raising=False)
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected error: KeyError" in err
    assert "Traceback" not in err


def test_dry_run_and_read_only_are_one_line_each_without_an_intent(tmp_path: Path) -> None:
    for mode in ("dry_run", "read_only"):
        path = tmp_path / f"{mode}.jsonl"
        demo = build_demo("healthy", seed=3, realtime=False, audit=AuditLog(path), **{mode: True})
        demo.start()
        demo.rollout("checkout").apply(Action(ActionKind.ADVANCE, "checkout"))
        (line,) = [json.loads(x) for x in path.read_text().splitlines()]
        assert line["phase"] == "intent+outcome"  # nothing was about to be written
        assert line["result"] == ("ok" if mode == "dry_run" else "refused")
        assert line["dry_run"] is (mode == "dry_run")
        assert demo.world.route("checkout")[0] == Weights(99, 1)
        demo.close()


# --- the API server ------------------------------------------------------------------------------


def canary_of(fake: FakeKube) -> int:
    obj = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    weight: int = obj["spec"]["http"][0]["route"][1]["weight"]
    return weight


def test_a_patch_applied_but_never_answered_is_uncertain_with_its_patch(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    conn = kube(fake_kubeconfig, timeout_s=1.0)
    cfg = no_metrics(rollout())
    path = tmp_path / "audit.jsonl"
    ctl = assemble(cfg, router=IstioRouter(conn, cfg), audit=AuditLog(path))
    ctl.cycle()
    fake_kube.answer_late(method="PATCH")  # applied at once, answered never
    result = ctl.apply(Action(ActionKind.ADVANCE, "reviews"))
    assert canary_of(fake_kube) == 25  # it happened
    assert not result.ok and result.uncertain and result.exit_code == 5
    assert result.message.startswith("uncertain: check the route")
    assert "failed" not in result.message
    (record,) = read_audit(path)
    assert record["result"] == "uncertain"
    assert json.loads(record["patch"])[-1]["value"] == 25
    assert ctl.snapshot().weights == Weights(75, 25)  # read again: the screen shows the truth
    ctl.close()
    conn.close()


CLI_CONFIG = reviews_toml()


def _cli(kubeconfig: Path, cfg: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.Popen(
        [sys.executable, "-m", "monotui", *args, "-c", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def test_kill_9_between_intent_and_outcome_leaves_the_intent_last(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    audit = tmp_path / "audit.jsonl"
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(CLI_CONFIG.format(audit=audit))
    fake_kube.answer_late(method="PATCH")  # the rollback is applied; its answer never comes
    child = _cli(fake_kubeconfig, cfg, "rollback", "--rollout", "reviews")
    try:
        wait_for(lambda: audit.exists() and b'"intent"' in audit.read_bytes(), timeout_s=20)
        wait_for(lambda: canary_of(fake_kube) == 0, timeout_s=5)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    last = json.loads(audit.read_text().splitlines()[-1])
    assert last["phase"] == "intent" and last["action"] == "rollback"
    (record,) = read_audit(audit)
    assert record["result"] == "uncertain" and record["note"] == UNCERTAIN


def test_the_cli_refuses_with_one_line_and_exit_4_when_the_audit_is_a_directory(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    audit = tmp_path / "audit-dir"
    audit.mkdir()
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(CLI_CONFIG.format(audit=audit))
    for args in (("advance",), ("rollback",), ("set-weight", "50"), ("pause",)):
        out, err = _cli(fake_kubeconfig, cfg, *args, "--rollout", "reviews").communicate(timeout=60)
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert "cannot record the intent" in err and "is a directory" in err
    assert canary_of(fake_kube) == 10
    assert not [r for r in fake_kube.requests if r.method == "PATCH"]
    out, err = _cli(fake_kubeconfig, cfg, "check-config").communicate(timeout=60)
    assert "audit: FAILED" in out and "is a directory" in out


def test_check_config_exits_4_for_an_unusable_audit_path(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(CLI_CONFIG.format(audit="/sys/monotui-audit.jsonl"))
    child = _cli(fake_kubeconfig, cfg, "check-config")
    out, err = child.communicate(timeout=60)
    assert child.returncode == 4, (out, err)
    assert "audit: FAILED" in out and "may not write there" in out


def test_a_pause_reason_with_a_password_never_reaches_the_annotation_or_the_audit(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    conn = kube(fake_kubeconfig)
    cfg = no_metrics(rollout())
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, secrets=["s3cr3t-token"])
    ctl = assemble(cfg, router=IstioRouter(conn, cfg), audit=audit, kube_user=conn.user)
    reason = (
        "NO DATA for 5 polls: Prometheus at http://bob:hunter2@prom:9090 failed; "
        "token s3cr3t-token\x1b[2J"
    )
    result = ctl.apply(Action(ActionKind.PAUSE, "reviews", origin="automation", reason=reason))
    assert result.ok, result.message
    obj = fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    by = obj["metadata"]["annotations"]["monotui.dev/paused-by"]
    assert "hunter2" not in by and "s3cr3t" not in by and "\x1b" not in by
    assert "http://***@prom:9090" in by
    text = path.read_text()
    assert "hunter2" not in text and "s3cr3t" not in text
    ctl.close()
    conn.close()


def test_the_session_knows_the_secrets_of_the_configuration(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("tok-123456\n")
    cfg = parse(
        {
            "prometheus": {
                "bearer_token_file": str(token),
                "headers": {"X-Scope-OrgID": "tenant-a", "Authorization": "Basic Ym9iOnB3"},
            },
            "rollouts": [
                {
                    "name": "reviews",
                    "flags": {
                        "kind": "ofrep",
                        "url": "http://flags:8016",
                        "headers": {"X-API-Key": "ofrep-key-9"},
                    },
                }
            ],
        }
    )
    found = set(secrets_of(cfg))
    assert {"tok-123456", "tenant-a", "Basic Ym9iOnB3", "Ym9iOnB3", "ofrep-key-9"} <= found


async def test_the_cockpit_says_uncertain_never_failed_for_a_write_that_went_out(
    fake_kube: FakeKube, fake_kubeconfig: Path
) -> None:
    from monotui.app import MonotuiApp
    from tests.test_app_support import settle

    fake_kube.put_object(virtual_service(10))
    conn = kube(fake_kubeconfig, timeout_s=1.0)
    cfg = no_metrics(rollout())
    ctl = assemble(cfg, router=IstioRouter(conn, cfg), audit=AuditLog(None))
    app = MonotuiApp([ctl], poll=False)
    app.animation_level = "none"
    said: list[tuple[str, str]] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        said.append((str(message), str(kwargs.get("severity", "information"))))
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        fake_kube.answer_late(method="PATCH")
        await pilot.press("a")
        await settle(pilot)
        assert canary_of(fake_kube) == 25
        ((message, severity),) = said
        assert "uncertain: check the route" in message and "failed" not in message
        assert severity == "warning"
        assert app.store.get("reviews").weights == Weights(75, 25)  # read again, shown
    ctl.close()
    conn.close()
