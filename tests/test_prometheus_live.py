"""The live path end to end: the simulated world as an exporter, the real Prometheus scraping it
every second, and monotui's numbers following the canary when its error probability changes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.model import Sample, SourceState, Weights
from monotui.rollout import assemble
from monotui.sim.scenarios import BAD_CANARY, checkout_flags
from monotui.sim.world import World
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.lab.exporter import SimExporter
from tests.prometheus_server import PrometheusServer, prometheus, wait_until  # noqa: F401


@pytest.fixture
def world() -> Iterator[tuple[World, SimExporter]]:
    world = World(seed=11)
    world.add_rollout(
        "checkout", "shop", BAD_CANARY, weights=Weights.canary_at(50), flags=checkout_flags()
    )
    origin, start = time.monotonic(), world.t
    world.follow = lambda: start + (time.monotonic() - origin)
    exporter = SimExporter(world)
    try:
        yield world, exporter
    finally:
        exporter.close()


def _rollout() -> RolloutConfig:
    data = {
        "name": "checkout",
        "namespace": "shop",
        "interval_s": 1,
        "router": {"kind": "none"},
        # A short window so a change shows within seconds (rate() needs two scrapes in it).
        "metrics": {"kind": "prometheus", "window": "4s"},
    }
    return parse({"rollouts": [data]}).rollouts[0]


def test_numbers_follow_the_canary_error_probability(
    prometheus: PrometheusServer,  # noqa: F811
    world: tuple[World, SimExporter],
) -> None:
    sim, exporter = world
    prometheus.write_config([exporter.target], "1s")
    prometheus.start()
    rollout = _rollout()
    controller = assemble(
        rollout,
        router=StaticRouter(),
        metrics=PrometheusMetrics(PrometheusConfig(url=prometheus.url), rollout),
    )
    seen: list[Sample] = []

    def canary_error(check: str) -> bool:
        snap = controller.cycle()
        status = snap.source("metrics")
        assert status is not None and status.state != SourceState.ERROR, status
        latest = snap.latest
        assert latest is not None
        seen.append(latest)
        rate = latest.error_rate.canary
        return rate is not None and (rate > 0.05 if check == "high" else rate < 0.03)

    expected = sim.error_probability("checkout", "v2")
    assert expected > 0.09  # 50 % of the traffic on the bad canary
    wait_until(lambda: canary_error("high"), 15, "the canary's errors to show", 0.2)
    high = seen[-1]
    assert high.error_rate.baseline is not None and high.error_rate.baseline < 0.03
    assert high.request_rate.canary is not None and high.request_rate.baseline is not None
    split = high.request_rate.canary / (high.request_rate.canary + high.request_rate.baseline)
    assert split == pytest.approx(0.5, abs=0.15)
    assert high.latency_p99_ms.canary is not None and high.latency_p99_ms.canary > 0

    sim.toggle_flag("checkout", "new-checkout")  # the kill switch: the canary runs the old code
    assert sim.error_probability("checkout", "v2") < 0.01
    wait_until(lambda: canary_error("low"), 15, "the canary's errors to fall", 0.2)
