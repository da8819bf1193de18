"""The live path end to end: the simulated world as an exporter, the real Prometheus scraping it
every second, and monotui's counts following the world: the canary's errors when its error
probability changes, and poll after poll the requests the world really served."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.model import Sample, Snapshot, SourceState, Weights
from monotui.rollout import Rollout, assemble
from monotui.sim.scenarios import BAD_CANARY, checkout_flags
from monotui.sim.world import BASELINE, CANARY, World
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.lab.exporter import SimExporter
from tests.prometheus_server import PrometheusServer, prometheus, wait_until  # noqa: F401


@pytest.fixture
def world() -> Iterator[tuple[World, SimExporter]]:
    # The world's clock is the wall clock: what it served over a span is what Prometheus scraped.
    world = World(seed=11, start=time.time())
    world.add_rollout(
        "checkout", "shop", BAD_CANARY, weights=Weights.canary_at(50), flags=checkout_flags()
    )
    world.follow = time.time
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
        # A short window so a change shows within seconds.
        "metrics": {"kind": "prometheus", "window": "4s"},
    }
    return parse({"rollouts": [data]}).rollouts[0]


def _live(prometheus: PrometheusServer, exporter: SimExporter) -> Rollout:  # noqa: F811
    prometheus.write_config([exporter.target], "1s")
    prometheus.start()
    rollout = _rollout()
    return assemble(
        rollout,
        router=StaticRouter(),
        metrics=PrometheusMetrics(
            PrometheusConfig(url=prometheus.url, scrape_interval_s=1), rollout
        ),
    )


def _cycle(controller: Rollout) -> Snapshot:
    snap = controller.cycle()
    status = snap.source("metrics")
    assert status is not None and status.state != SourceState.ERROR, status
    return snap


def test_numbers_follow_the_canary_error_probability(
    prometheus: PrometheusServer,  # noqa: F811
    world: tuple[World, SimExporter],
) -> None:
    sim, exporter = world
    controller = _live(prometheus, exporter)
    seen: list[Snapshot] = []

    def canary_error(check: str) -> bool:
        snap = _cycle(controller)
        seen.append(snap)
        rate = snap.current("error_rate").canary
        return rate is not None and (rate > 0.05 if check == "high" else rate < 0.03)

    expected = sim.error_probability("checkout", "v2")
    assert expected > 0.09  # 50 % of the traffic on the bad canary
    wait_until(lambda: canary_error("high"), 15, "the canary's errors to show", 0.2)
    high = seen[-1]
    baseline = high.current("error_rate").baseline
    assert baseline is not None and baseline < 0.03
    split = high.observed_split
    assert split is not None and split.canary == pytest.approx(50, abs=15)
    p99 = high.current("latency_p99_ms").canary
    assert p99 is not None and p99 > 0

    sim.toggle_flag("checkout", "new-checkout")  # the kill switch: the canary runs the old code
    assert sim.error_probability("checkout", "v2") < 0.01
    wait_until(lambda: canary_error("low"), 15, "the canary's errors to fall", 0.2)
    controller.close()


def test_consecutive_polls_tile_and_count_what_the_world_served(
    prometheus: PrometheusServer,  # noqa: F811
    world: tuple[World, SimExporter],
) -> None:
    """Poll after poll, each counts (previous poll, now]: the spans join end to end, and their
    counts add up to one increase() over the whole stretch and to what the world served, within
    increase()'s extrapolation at the ends of a span."""
    sim, exporter = world
    controller = _live(prometheus, exporter)

    def counted() -> list[Sample]:
        snap = _cycle(controller)
        return [s for s in snap.samples if s.baseline.requests is not None]

    wait_until(lambda: len(counted()) >= 8, 30, "eight counted polls", 0.4)
    samples = [s for s in controller.snapshot().samples if s.baseline.requests is not None]
    for before, after in zip(samples, samples[1:], strict=False):
        assert after.t - after.span_s == pytest.approx(before.t)  # no overlap, no hole
    polled = samples[1:]
    start, end = samples[0].t, samples[-1].t
    # The same stretch in one increase(): consecutive polls must add up to it.
    source = controller.observer.metrics
    assert isinstance(source, PrometheusMetrics)
    whole = source.api.instant(source.queries(end - start)["requests"], end, "the whole stretch")
    by_version = {s.labels["destination_version"]: s.points[-1][1] for s in whole}
    sim.now()  # the world catches up with the wall clock: its counts reach `end`
    truth = sim.counts("checkout", start, end)
    assert truth is not None
    for version, canary in ((BASELINE, False), (CANARY, True)):
        served = truth[version].requests
        rate = served / (end - start)
        counts = sum(((s.canary if canary else s.baseline).requests or 0.0) for s in polled)
        assert served > 500  # ~100 req/s a version for over ten seconds
        # Scrapes are a second apart and every span extrapolates at its ends: the polls agree
        # with the one increase() within two seconds of traffic, with the world within three
        # (its own counts are per whole second).
        once = by_version[version]
        assert once is not None
        assert counts == pytest.approx(once, abs=2 * rate), (version, counts, once)
        assert counts == pytest.approx(served, abs=3 * rate), (version, counts, served)
        errors = sum(((s.canary if canary else s.baseline).bad_of(0) or 0.0) for s in polled)
        per_s = truth[version].errors / (end - start)
        assert errors == pytest.approx(truth[version].errors, abs=3 * per_s + 5), version
    controller.close()
