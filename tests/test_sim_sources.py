"""SimRouter, SimMetrics and SimFlags as the controller sees them: compare-and-set, gaps, timeouts."""

from __future__ import annotations

import json

import pytest

from monotui.errors import BackendUnavailableError, ConflictError, NotFoundError
from monotui.model import Weights
from monotui.sim.scenarios import SCENARIOS, checkout_flags
from monotui.sim.sources import TIMEOUT_MESSAGE, SimFlags, SimMetrics, SimRouter
from monotui.sim.world import World
from monotui.sources.base import FlagSource, MetricsSource, Router


@pytest.fixture
def world() -> World:
    world = World(7)
    world.add_rollout(
        "checkout", "shop", SCENARIOS["healthy"], weights=Weights(99, 1), flags=checkout_flags()
    )
    world.advance(300)
    return world


def test_sources_implement_the_protocols(world: World) -> None:
    assert isinstance(SimRouter(world, "checkout"), Router)
    assert isinstance(SimMetrics(world, "checkout"), MetricsSource)
    assert isinstance(SimFlags(world, "checkout"), FlagSource)


def test_router_write_is_compare_and_set(world: World) -> None:
    router = SimRouter(world, "checkout")
    seen = router.read()
    assert seen.weights == Weights(99, 1)
    written = router.write(Weights(95, 5), seen)
    assert written.state is not None and written.state.weights == Weights(95, 5)
    assert written.state.version != seen.version
    with pytest.raises(ConflictError, match="changed since it was read"):
        router.write(Weights(0, 100), seen)  # stale: someone (we) wrote since
    assert router.read().weights == Weights(95, 5)
    # The patch IstioRouter sends for the VirtualService the route stands for: a test that pins
    # both destinations with the weights as read, then the new weights.
    ops = json.loads(written.patch)
    pinned = next(op for op in ops if op["path"] == "/spec/http/0/route")
    assert pinned["op"] == "test" and [d["weight"] for d in pinned["value"]] == [99, 1]
    assert {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 5} in ops


def test_outside_write_and_router_conflict_fault(world: World) -> None:
    router = SimRouter(world, "checkout")
    seen = router.read()
    world.set_weights("checkout", Weights(90, 10))  # kubectl edit
    with pytest.raises(ConflictError):
        router.write(Weights(95, 5), seen)
    world.inject("router-conflict", 30, rollout="checkout")
    with pytest.raises(ConflictError):
        router.write(Weights(95, 5), router.read())  # another writer wins every race
    world.advance(31)
    fresh = router.read()
    assert router.write(Weights(95, 5), fresh).state is not None


def test_metrics_fetch_and_history_fill_the_charts(world: World) -> None:
    metrics = SimMetrics(world, "checkout", step_s=10)
    sample = metrics.fetch(world.t - 60)
    assert sample.t == world.t and sample.span_s == 60  # the increase since the last count
    assert sample.request_rate.baseline is not None and 150 < sample.request_rate.baseline < 250
    assert sample.canary.value(0) is not None and sample.canary.bad_of(0) is not None
    p99 = sample.value(1).baseline
    assert p99 is not None and 50 < p99 < 250
    past = metrics.history(200, 300)
    assert len(past) == 20  # never finer than the step
    assert [s.t for s in past] == sorted(s.t for s in past) and past[-1].t == world.t
    assert all(s.span_s == 10 and s.baseline.requests for s in past)  # they tile the span
    # Counts over consecutive spans add up to the count over the whole.
    whole = metrics.fetch(world.t - 200)
    assert whole.baseline.requests == sum(s.baseline.requests or 0 for s in past)


def test_canary_at_zero_has_no_error_rate_but_a_zero_request_rate(world: World) -> None:
    world.set_weights("checkout", Weights(100, 0))
    world.advance(120)
    sample = SimMetrics(world, "checkout").fetch(world.t - 60)
    assert sample.canary.value(0) is None  # no traffic is NO DATA, not 0 % errors
    assert sample.canary.requests == 0.0 and sample.request_rate.canary == 0.0


def test_metrics_timeout_fault_raises_then_recovers(world: World) -> None:
    metrics = SimMetrics(world, "checkout")
    world.inject("metrics-timeout", 20, rollout="checkout")
    with pytest.raises(BackendUnavailableError, match="timed out after 5s"):
        metrics.fetch(None)
    world.advance(21)
    assert metrics.fetch(None).baseline.value(0) is not None


def test_flaky_metrics_give_gaps_and_timeouts_only() -> None:
    world = World(3)
    world.add_rollout("checkout", "shop", SCENARIOS["flaky-metrics"], weights=Weights(90, 10))
    world.advance(120)
    metrics = SimMetrics(world, "checkout")
    gaps = timeouts = good = 0
    for _ in range(200):
        world.advance(5)
        try:
            sample = metrics.fetch(None)
        except BackendUnavailableError as exc:
            assert str(exc) == TIMEOUT_MESSAGE
            timeouts += 1
            continue
        if not sample.has_data:
            assert sample.canary.requests is None and sample.value(1).canary is None
            gaps += 1
        else:
            good += 1
    assert 10 <= timeouts <= 40 and 15 <= gaps <= 50 and good > 120


def test_flags_read_and_toggle_compare_and_set(world: World) -> None:
    flags = SimFlags(world, "checkout")
    seen = flags.read()
    by_key = {f.key: f for f in seen.flags}
    checkout = by_key["new-checkout"]
    assert (checkout.state, checkout.default_variant, checkout.value) == ("ENABLED", "on", True)
    assert checkout.toggle == "on -> off"
    assert dict(checkout.variants) == {"on": True, "off": False}
    assert "fractional" in by_key["checkout-banner"].targeting
    assert by_key["legacy-payments"].state == "DISABLED" and by_key["legacy-payments"].value is None

    assert json.loads(flags.toggle("new-checkout", seen, dry_run=True)) == {
        "flags": {"new-checkout": {"defaultVariant": "off"}}
    }
    assert flags.read() == seen
    flags.toggle("new-checkout", seen)
    after = flags.read()
    assert after.version != seen.version
    assert next(f for f in after.flags if f.key == "new-checkout").value is False
    with pytest.raises(ConflictError):
        flags.toggle("new-checkout", seen)  # stale flag set
    with pytest.raises(NotFoundError):
        flags.toggle("no-such-flag", after)
