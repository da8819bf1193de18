"""`monotui demo`'s world and the headless runner, as a script and the UI tests see them."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time

import pytest

from monotui.errors import ConfigError
from monotui.model import Action, ActionKind, Phase, VerdictResult, Weights
from monotui.sim.demo import SCENARIOS, build_demo, run_headless
from monotui.sim.world import EPOCH

LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (checkout|reviews) .+ "
    r"weights=(\d+/\d+|-) verdict=(PASS|MARGINAL|FAIL|NODATA)$"
)


def headless(
    scenario: str,
    *,
    seed: int = 7,
    policy: str = "auto",
    speed: float = 50.0,
    traffic: float = 200.0,
) -> str:
    demo = build_demo(
        scenario, seed=seed, speed=speed, policy=policy, realtime=False, traffic=traffic
    )
    out = io.StringIO()
    assert run_headless(demo, 120, out) == 0
    return out.getvalue()


def test_bad_canary_auto_rolls_back_and_says_why() -> None:
    lines = headless("bad-canary").splitlines()
    assert all(LINE.match(line) for line in lines), lines
    rollback = [line for line in lines if line.split()[1] == "checkout" and "rolled back" in line]
    assert rollback, lines
    assert "verdict FAIL: 5xx: evidence" in rollback[0]
    assert rollback[0].endswith("weights=100/0 verdict=FAIL")
    assert "checkout finished: phase Failed weights=100/0" in lines[-2]
    assert "reviews finished: phase Promoted weights=0/100" in lines[-1]


def test_healthy_auto_promotes_both_rollouts() -> None:
    text = headless("healthy")
    assert "rolled back" not in text
    assert "checkout finished: phase Promoted weights=0/100" in text
    assert "reviews finished: phase Promoted weights=0/100" in text
    assert text.count("checkout advanced") == 5  # 1 -> 5 -> 10 -> 25 -> 50 -> 100


def test_a_shared_incident_holds_the_healthy_canary_and_never_rolls_it_back() -> None:
    text = headless("shared-incident")
    assert "rolled back" not in text
    assert "checkout automation holds: both versions failing: not the canary" in text
    assert "checkout finished: phase Promoted weights=0/100" in text


def _first_step_requests(text: str) -> int:
    found = re.search(r"checkout advanced: 99/1 .*rests on ([\d,]+) canary requests", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_a_quiet_checkout_at_20_rps_still_promotes_without_pausing() -> None:
    quiet, busy = headless("healthy", traffic=20), headless("healthy")
    assert "paused" not in quiet and "rolled back" not in quiet
    assert "checkout finished: phase Promoted weights=0/100" in quiet
    # --traffic reaches the world: a tenth of the rate, about a tenth of the canary's requests.
    assert 5 < _first_step_requests(busy) / _first_step_requests(quiet) < 20


def test_manual_policy_moves_nothing_by_itself() -> None:
    text = headless("bad-canary", policy="manual")
    assert "advanced" not in text and "rolled back" not in text
    assert "checkout finished: phase Progressing weights=99/1" in text


def test_same_seed_same_lines_other_seed_other_lines() -> None:
    assert headless("bad-canary", seed=11) == headless("bad-canary", seed=11)
    assert headless("bad-canary", seed=11) != headless("bad-canary", seed=12)


def test_flaky_metrics_never_crash_and_show_up_as_source_errors() -> None:
    demo = build_demo("flaky-metrics", speed=10, policy="auto", realtime=False)
    demo.start()
    states = set()
    for _ in range(150):
        snap = demo.tick()[0]
        metrics = snap.source("metrics")
        assert metrics is not None
        states.add(metrics.state.value)
    samples = demo.rollout("checkout").snapshot().samples
    assert any(not s.has_data for s in samples)  # gaps stay gaps
    assert {"ok", "stale"} <= states or {"ok", "error"} <= states
    assert any("timed out" in e.text for e in demo.rollout("checkout").events())


def test_flag_off_fixes_a_failing_canary_through_the_controller() -> None:
    demo = build_demo("bad-canary", speed=10, realtime=False)
    checkout = demo.rollout("checkout")
    demo.start()
    checkout.apply(Action(ActionKind.SET_WEIGHT, "checkout", weight_pct=25))
    for _ in range(12):
        snap = demo.tick()[0]
    assert snap.weights == Weights(75, 25)
    assert snap.verdict.result == VerdictResult.FAIL
    result = checkout.apply(Action(ActionKind.TOGGLE_FLAG, "checkout", flag_key="new-checkout"))
    assert result.ok, result.message
    for _ in range(12):
        snap = demo.tick()[0]
    latest = snap.current("error_rate")
    assert latest.canary is not None and latest.baseline is not None
    assert latest.canary < 0.015
    assert snap.verdict.result == VerdictResult.PASS


def test_the_demo_has_two_rollouts_starting_mid_plan() -> None:
    demo = build_demo("healthy", realtime=False)
    snaps = demo.start()
    assert [(s.rollout, s.namespace) for s in snaps] == [
        ("checkout", "shop"),
        ("reviews", "bookinfo"),
    ]
    assert snaps[0].weights == Weights(99, 1) and snaps[0].phase == Phase.PROGRESSING
    assert snaps[0].kill_switches == ("new-checkout",)
    assert snaps[0].t == EPOCH
    assert len(snaps[0].samples) > 30  # charts start filled from the history
    demo.tick()
    assert demo.now() == EPOCH + demo.interval_s == EPOCH + 10


def test_demo_read_only_writes_nothing() -> None:
    demo = build_demo("bad-canary", read_only=True, policy="auto", realtime=False)
    demo.start()
    result = demo.rollout("checkout").apply(Action(ActionKind.PROMOTE, "checkout"))
    assert not result.ok and "read-only" in result.message
    for _ in range(60):
        demo.tick()
    assert demo.world.route("checkout")[0] == Weights(99, 1)


def test_real_time_demo_clock_follows_the_wall_clock_times_speed() -> None:
    demo = build_demo("healthy", speed=100, realtime=True)
    deadline = time.monotonic() + 5
    while demo.now() < EPOCH + 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert demo.now() >= EPOCH + 5


def test_bad_scenario_is_a_config_error() -> None:
    assert set(SCENARIOS) == {
        "healthy",
        "bad-canary",
        "latency-regression",
        "flaky-metrics",
        "shared-incident",
    }
    with pytest.raises(ConfigError, match="unknown scenario 'nope'"):
        build_demo("nope")


def test_the_documented_command_prints_a_rollback() -> None:
    cmd = [sys.executable, "-m", "monotui", "demo", "--headless", "--scenario", "bad-canary"]
    cmd += ["--policy", "auto", "--speed", "50", "--duration", "120"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "checkout rolled back" in done.stdout


def test_injected_faults_reach_the_controller_and_then_pass() -> None:
    demo = build_demo("healthy", realtime=False)
    checkout = demo.rollout("checkout")
    demo.start()
    assert "metrics-timeout on checkout" in demo.inject("metrics-timeout", 30, "checkout")
    snap = demo.tick()[0]
    metrics = snap.source("metrics")
    assert metrics is not None and metrics.state.value != "ok"
    assert "timed out" in metrics.message
    assert snap.verdict.result == VerdictResult.NODATA  # never judged healthy on no data

    demo.inject("router-conflict", 30, "checkout")
    result = checkout.apply(Action(ActionKind.ADVANCE, "checkout"))
    assert not result.ok and result.exit_code == 3 and "conflict" in result.message
    assert demo.world.route("checkout")[0] == Weights(99, 1)
    for _ in range(4):
        snap = demo.tick()[0]
    assert checkout.apply(Action(ActionKind.ADVANCE, "checkout")).ok
    assert demo.world.route("checkout")[0] == Weights(95, 5)
    source = demo.tick()[0].source("metrics")
    assert source is not None and source.state.value == "ok"
