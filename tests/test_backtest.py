"""`monotui backtest` and `monotui status` judging from history, on a real Prometheus holding a
rollout the simulated world played (backfilled with promtool), through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monotui.sim.scenarios import Behaviour
from monotui.status import iso
from tests.prometheus_server import PrometheusServer, free_port
from tests.sim_history import T0, config_toml, played

ROOT = Path(__file__).resolve().parent.parent
# 100 s at each step, as the demo: 1, 5, 10, 25, 50 %.
SCHEDULE = [(0.0, 1), (100.0, 5), (200.0, 10), (300.0, 25), (400.0, 50), (500.0, 50)]
BAD = Behaviour(error_p=0.005, error_per_pct=0.002)  # 2.5 % at 10 %, 5.5 % at 25 %


def monotui(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(config.parent / "state")}
    return subprocess.run(
        [sys.executable, "-m", "monotui", *args, "-c", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def history(prometheus: PrometheusServer, tmp_path: Path, **play: Any) -> Path:
    _, text = played(SCHEDULE, **play)
    prometheus.backfill(text)
    prometheus.start()
    config = tmp_path / "monotui.toml"
    config.write_text(config_toml(prometheus.url))
    return config


def window(start: float = T0, end: float = T0 + 500) -> tuple[str, str]:
    return "--from", iso(start), "--to", iso(end)


def test_a_healthy_history_never_rolls_back(prometheus: PrometheusServer, tmp_path: Path) -> None:
    config = history(prometheus, tmp_path)
    out = monotui(config, "backtest", "--rollout", "checkout", *window(), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["rolled_back"] is False
    assert result["polls"] >= 45  # every 10 s over 500 s
    assert all(d["action"] != "rollback" for d in result["decisions"])
    steps = {d["step"] for d in result["decisions"]}
    assert steps <= {0, 1, 5, 10, 25, 50}  # the observed split maps to the configured steps


def test_a_bad_history_rolls_back_once_its_errors_show(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    config = history(prometheus, tmp_path, canary=BAD)
    out = monotui(config, "backtest", "--rollout", "checkout", *window())
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("would have rolled back at "), out.stdout
    rollback = next(line for line in out.stdout.splitlines() if "action=rollback" in line)
    assert "verdict=FAIL" in rollback and "5xx" in rollback
    as_json = json.loads(
        monotui(config, "backtest", "--rollout", "checkout", *window(), "--json").stdout
    )
    when = as_json["rolled_back_at"]
    # Not before the canary misbehaves visibly (5 % at 5 % of traffic: 1.9x the baseline), and
    # by the 25 % step at the latest.
    assert iso(T0 + 100) <= when <= iso(T0 + 400), when
    assert as_json["bad_requests_before"] > 0


def test_status_gives_a_verdict_from_history_in_one_shot(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    config = history(prometheus, tmp_path, canary=BAD)
    # The history ended long ago: judge the window up to its end, not "now".
    out = monotui(config, "status", "--json", "--window", "4h")
    # Old data is STALE (it answered), not unreachable: the verdict is printed and the exit is 0.
    assert out.returncode == 0, out.stderr
    (rollout,) = json.loads(out.stdout)["rollouts"]
    verdict = rollout["verdict"]
    assert verdict["result"] == "FAIL", verdict["reason"]
    (errors,) = [m for m in verdict["metrics"] if m["name"] == "error_rate"]
    assert errors["evidence"]["e_value"] >= errors["evidence"]["rolls_back_at"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--from", "yesterday"), "is not a time"),
        (("--from", "-2h", "--to", "-3h"), "must be before"),
        (("--from", "2026-01-01T00:00:00"), "has no time zone"),
    ],
)
def test_bad_times_are_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    config = tmp_path / "monotui.toml"
    config.write_text(config_toml(f"http://127.0.0.1:{free_port()}"))
    out = monotui(config, "backtest", "--rollout", "checkout", *args)
    assert out.returncode == 2, out.stderr
    assert says in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_an_unreachable_prometheus_is_exit_5(tmp_path: Path) -> None:
    config = tmp_path / "monotui.toml"
    config.write_text(config_toml(f"http://127.0.0.1:{free_port()}"))
    out = monotui(config, "backtest", "--rollout", "checkout", "--from", "-1h")
    assert out.returncode == 5, out.stderr
    assert "Prometheus" in out.stderr and len(out.stderr.strip().splitlines()) == 1
