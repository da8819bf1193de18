"""History for a real Prometheus from the simulated world: a rollout's weight schedule played in
the world, its Istio-style counters written every few seconds as OpenMetrics for promtool to
backfill, so `status` and `backtest` read a rollout that really happened."""

from __future__ import annotations

import time
from collections.abc import Sequence

from monotui.model import Weights
from monotui.sim.scenarios import SCENARIOS, Behaviour, Scenario
from monotui.sim.world import World

STEP_S = 5
T0 = float(int(time.time() - 3 * 3600) // 60 * 60)
"""Three hours back, on a whole minute: history, yet well within the retention."""


def played(
    schedule: Sequence[tuple[float, int]],
    *,
    scenario: Scenario = SCENARIOS["healthy"],
    canary: Behaviour | None = None,
    rps: float = 200.0,
    seed: int = 7,
    start: float = T0,
) -> tuple[World, str]:
    """Play `schedule` ((seconds after start, canary %) pairs, in order) for the rollout
    `checkout` in namespace `shop`; returns the world and its OpenMetrics text."""
    behaviour = scenario if canary is None else Scenario("custom", "", canary=canary)
    world = World(seed, start=start - 120, wave_from_start=True)
    world.add_rollout("checkout", "shop", _with(behaviour, rps), weights=Weights.canary_at(0))
    world.advance_to(start)
    lines: dict[str, list[str]] = {"requests": [], "buckets": []}
    end = start + schedule[-1][0]
    t = start
    moves = list(schedule)
    while t <= end:
        while moves and moves[0][0] <= t - start:
            world.set_weights("checkout", Weights.canary_at(moves.pop(0)[1]))
        world.advance_to(t)
        _record(world, t, lines)
        t += STEP_S
    text = ["# TYPE istio_requests counter", *lines["requests"]]
    text += ["# TYPE istio_request_duration_milliseconds histogram", *lines["buckets"]]
    return world, "\n".join(text) + "\n# EOF\n"


def _with(scenario: Scenario, rps: float) -> Scenario:
    from dataclasses import replace

    return replace(scenario, rps=rps, kill_switch=None)


def _record(world: World, t: float, lines: dict[str, list[str]]) -> None:
    for version, counters in world.counters("checkout").items():
        labels = (
            'reporter="destination",destination_service_name="checkout",'
            f'destination_service_namespace="shop",destination_version="{version}"'
        )
        for code, count in sorted(counters.requests.items()):
            lines["requests"].append(
                f'istio_requests_total{{{labels},response_code="{code}"}} {count} {t:.0f}'
            )
        for le, count in counters.buckets:
            lines["buckets"].append(
                f'istio_request_duration_milliseconds_bucket{{{labels},le="{float(le)}"}} '
                f"{count} {t:.0f}"
            )
        lines["buckets"].append(
            f'istio_request_duration_milliseconds_bucket{{{labels},le="+Inf"}} '
            f"{counters.count} {t:.0f}"
        )


def config_toml(
    prometheus_url: str, *, interval_s: float = 10.0, hold_s: float = 100.0, policy: str = "manual"
) -> str:
    """A monotui.toml for the played rollout: real Prometheus metrics, no router."""
    return f"""
[prometheus]
url = "{prometheus_url}"
scrape_interval_s = {STEP_S}
timeout_s = 5

[[rollouts]]
name = "checkout"
namespace = "shop"
steps = [1, 5, 10, 25, 50, 100]
hold_s = {hold_s}
interval_s = {interval_s}
policy = "{policy}"
[rollouts.router]
kind = "none"
[rollouts.metrics]
window = "30s"
history_s = 3600
[rollouts.judge]
allowed_increase = 1.25
"""
