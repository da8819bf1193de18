"""Polls faster than Prometheus scrapes, on a real Prometheus: what the cockpit shows and counts.

The history (tests/prom_history.py, exact linear counters) is scraped every 15 s for one service
and every 30 s for another, at an offset that is not on the polls' grid, as a real scrape is not.
Each rollout polls every 5 s (the default `interval_s`) under policy auto with the default
`nodata_limit` (6). `increase()` needs two scrapes inside its range: a 5 s span has none, so the
old observer read NO DATA on five polls of six at 15 s scrapes (and paused the rollout after six
in a row at 30 s). Now a poll counts only once two scrapes have passed; the polls in between
check that Prometheus answers and keep the verdict.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.model import Snapshot, SourceState, VerdictResult, Weights
from monotui.rollout import Rollout, assemble
from monotui.sim.scenarios import HEALTHY
from monotui.sim.sources import SimRouter
from monotui.sim.world import World
from monotui.sources.metrics_prometheus import MAX_SPAN_S, PrometheusMetrics
from tests.configs import parse
from tests.prom_history import History
from tests.prometheus_server import Clock, PrometheusServer, backfilled

T0 = float(int(time.time() - 3 * 3600) // 60 * 60)
SPAN_S = 9000  # 2.5 h: room for a poll after a long outage to count a whole hour
START_S = 1200  # the cockpit starts (and reads its history) 20 min into the data
BASELINE_RPS, CANARY_RPS, ERROR = 10.0, 2.0, 0.01
# service: (scrape interval, the baseline's and the canary's offsets: their pods are scraped apart)
SCRAPES = {"s15": (15.0, (7.3, 2.9)), "s30": (30.0, (11.7, 23.1))}
POLL_S = 5.0


DRAWN_RPS = 20.0  # "d15": Poisson requests, binomial 5xx, scraped every 15 s


def _history() -> History:
    history = History(T0, span_s=SPAN_S, seed=20261201)
    history.add("d15", "v1", DRAWN_RPS, ERROR, step_s=15.0, offset_s=4.2)
    history.add("d15", "v2", DRAWN_RPS, ERROR, step_s=15.0, offset_s=9.6)
    for service, (scrape_s, offsets) in SCRAPES.items():
        versions = zip(("v1", "v2"), (BASELINE_RPS, CANARY_RPS), offsets, strict=True)
        for version, rps, offset_s in versions:
            history.add(
                service, version, rps, ERROR, step_s=scrape_s, offset_s=offset_s, exact=True
            )
    return history


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    with backfilled(
        Path(tmp_path_factory.mktemp("prometheus")), _history().openmetrics()
    ) as server:
        yield server


def config(service: str) -> RolloutConfig:
    data = {
        "name": service,
        "namespace": "bookinfo",
        "steps": [10, 25, 50, 100],
        "hold_s": 86_400,  # never advances here: a pause would be NO DATA's doing
        "interval_s": POLL_S,
        "policy": "auto",
        "router": {"kind": "none"},
        "metrics": {"kind": "prometheus"},
    }
    return parse({"rollouts": [data]}).rollouts[0]


@dataclass
class Run:
    rollout: Rollout
    world: World
    clock: Clock
    started: Snapshot

    def polls(self, n: int) -> list[Snapshot]:
        out = []
        for _ in range(n):
            self.clock.now += POLL_S
            out.append(self.rollout.cycle())
        return out


def run(url: str, service: str, scrape_s: float | None = None) -> Run:
    world = World(seed=1)
    world.add_rollout(service, "bookinfo", HEALTHY, weights=Weights(90, 10))
    clock = Clock(T0 + START_S)
    scrape_s = scrape_s or SCRAPES[service][0]
    prometheus = PrometheusConfig(url=url, scrape_interval_s=scrape_s, timeout_s=2)
    cfg = config(service)
    source = PrometheusMetrics(prometheus, cfg, clock=clock)
    rollout = assemble(cfg, router=SimRouter(world, service), metrics=source, clock=clock)
    return Run(rollout, world, clock, rollout.start())


def _longest_run(flags: list[bool]) -> int:
    return max((len(list(g)) for k, g in itertools.groupby(flags) if k), default=0)


@pytest.mark.parametrize("service", sorted(SCRAPES))
def test_polls_faster_than_the_scrapes_never_flap_no_data_pause_or_leave_gaps(
    prom: PrometheusServer, service: str
) -> None:
    """Ten minutes of 5 s polls: not one NO DATA verdict, no pause, no gap in the charts, and
    the counts add up to what was served (linear counters: exactly)."""
    scrape_s = SCRAPES[service][0]
    r = run(prom.url, service)
    history = r.started.samples
    assert r.started.verdict.result == VerdictResult.PASS, r.started.verdict.reason
    in_data = [s for s in history if s.t - s.span_s >= T0 + scrape_s]
    assert in_data and all(s.has_data for s in in_data)  # the charts start full, not dotted
    assert all(s.span_s >= 2 * scrape_s for s in history)

    snaps = r.polls(120)
    verdicts = [s.verdict.result for s in snaps]
    nodata = [v == VerdictResult.NODATA for v in verdicts]
    assert _longest_run(nodata) == 0, [v.value for v in verdicts]  # the old code: 5 and 11
    assert set(verdicts) == {VerdictResult.PASS}
    assert not snaps[-1].plan.paused  # the old code paused the 30 s one after 30 s
    assert all((s.source("metrics") or s).state == SourceState.OK for s in snaps)

    polled = snaps[-1].samples[len(history) :]
    assert polled and all(s.has_data for s in polled)  # no gap: nothing new is not no data
    assert {s.span_s for s in polled} == {2 * scrape_s}  # a count every two scrapes
    before = history[-1].t
    for s in polled:  # the spans tile, from the history's end on
        assert s.t - s.span_s == pytest.approx(before)
        before = s.t
    served = before - history[-1].t
    canary = sum(s.canary.requests or 0.0 for s in polled)
    errors = sum(s.canary.bad_of(0) or 0.0 for s in polled)
    # Linear counters: increase() extrapolates them exactly, whatever the span's phase.
    assert canary == pytest.approx(CANARY_RPS * served, rel=1e-9)
    assert errors == pytest.approx(CANARY_RPS * ERROR * served, rel=1e-9)
    r.rollout.close()


def _served(text: str, service: str, version: str, code: str | None, at: float) -> float:
    """What `version` had served by `at` (its counters, interpolated between their scrapes)."""
    points: dict[float, float] = {}
    head = f'istio_requests_total{{reporter="destination",destination_service_name="{service}"'
    codes = [] if code is None else [f'response_code="{code}"']
    wanted = [head, f'destination_version="{version}"', *codes]
    for line in text.splitlines():
        if line.startswith(head) and all(w in line for w in wanted):
            _, value, stamp = line.rsplit(" ", 2)
            points[float(stamp)] = points.get(float(stamp), 0.0) + float(value)
    times = sorted(points)
    after = next(i for i, t in enumerate(times) if t >= at)
    t0, t1 = times[after - 1], times[after]
    v0, v1 = points[t0], points[t1]
    return v0 + (v1 - v0) * (at - t0) / (t1 - t0)


def test_drawn_counts_over_a_rollout_match_what_was_served_within_four_percent(
    prom: PrometheusServer,
) -> None:
    """Poisson traffic scraped every 15 s, counted every 30 s: each count is increase()'s
    extrapolation of one scrape's delta over two scrapes, so a single count is noisy (about
    twice a Poisson count's variance), but over ten minutes the counts add up to what was served
    (about 12,000 canary requests: 3 standard deviations are about 3 %), and the error rate to
    the served one."""
    r = run(prom.url, "d15", 15.0)
    history = r.started.samples
    snaps = r.polls(120)
    assert all(s.verdict.result != VerdictResult.NODATA for s in snaps)
    polled = snaps[-1].samples[len(history) :]
    assert polled and all(s.has_data for s in polled)
    start, end = history[-1].t, polled[-1].t
    text = _history().openmetrics()
    for version, side in (("v1", "baseline"), ("v2", "canary")):
        served = _served(text, "d15", version, None, end) - _served(
            text, "d15", version, None, start
        )
        errors = _served(text, "d15", version, "503", end) - _served(
            text, "d15", version, "503", start
        )
        counted = sum(getattr(s, side).requests or 0.0 for s in polled)
        counted_errors = sum(getattr(s, side).bad_of(0) or 0.0 for s in polled)
        assert served == pytest.approx(DRAWN_RPS * (end - start), rel=0.05)  # the draws
        assert counted == pytest.approx(served, rel=0.04), (version, counted, served)
        assert counted_errors / counted == pytest.approx(errors / served, abs=0.004)
    r.rollout.close()


def test_a_dead_prometheus_is_stale_then_error_on_time_between_counts(
    tmp_path: Path,
) -> None:
    """Killed right after a count, while the next polls have nothing new to count: the first
    poll after the kill is already STALE (its liveness query fails), ERROR after two intervals,
    never a PASS the source did not give; back up, the next count covers the outage."""
    service = "s15"
    history = History(T0, span_s=SPAN_S)
    history.add(service, "v1", BASELINE_RPS, ERROR, step_s=15.0, offset_s=7.3, exact=True)
    history.add(service, "v2", CANARY_RPS, ERROR, step_s=15.0, offset_s=7.3, exact=True)
    server = PrometheusServer(tmp_path / "prometheus")
    server.backfill(history.openmetrics())
    server.start()
    try:
        r = run(server.url, service)
        assert r.started.verdict.result == VerdictResult.PASS
        server.kill()
        stale, _, error = r.polls(3)
        status = stale.source("metrics")
        assert status is not None and status.state == SourceState.STALE, status
        assert "cannot reach Prometheus" in status.message
        assert "(sending the liveness query)" in status.message  # names what did not get through
        assert stale.verdict.result == VerdictResult.NODATA  # STALE is never healthy
        status = error.source("metrics")
        assert status is not None and status.state == SourceState.ERROR, status
        assert status.age_s == pytest.approx(3 * POLL_S)
        assert error.verdict.result == VerdictResult.NODATA

        server.start()
        answers, _, back = r.polls(3)
        status = answers.source("metrics")
        assert status is not None and status.state == SourceState.OK, status
        latest = back.latest
        assert latest is not None and latest.has_data
        assert latest.span_s == pytest.approx(6 * POLL_S)  # from the count before the kill
        assert latest.canary.requests == pytest.approx(CANARY_RPS * 6 * POLL_S, rel=1e-9)
        assert back.verdict.result == VerdictResult.PASS
        r.rollout.close()
    finally:
        server.kill()


def test_a_poll_after_a_long_outage_counts_the_last_hour_not_the_whole_gap(
    prom: PrometheusServer,
) -> None:
    """Two hours without a poll (a laptop asleep): the next poll counts one hour, exactly what
    was served in it; the rest is a gap in time, not one enormous increase."""
    r = run(prom.url, "s15")
    r.clock.now += 2 * 3600
    (snap,) = r.polls(1)
    latest = snap.latest
    assert latest is not None and latest.span_s == MAX_SPAN_S
    assert latest.canary.requests == pytest.approx(CANARY_RPS * MAX_SPAN_S, rel=1e-9)
    assert snap.verdict.result == VerdictResult.PASS
    r.rollout.close()


def test_check_config_says_when_the_scrape_interval_is_set_shorter_than_the_real_one(
    prom: PrometheusServer,
) -> None:
    """The series themselves say how often they are scraped: 15 s configured for a service
    scraped every 30 s is named, with what to set; the right value, or a longer one, is quiet."""

    def check(service: str, scrape_s: float) -> str:
        prometheus = PrometheusConfig(url=prom.url, scrape_interval_s=scrape_s)
        source = PrometheusMetrics(prometheus, config(service), clock=lambda: T0 + START_S)
        try:
            return source.check()
        finally:
            source.close()

    wrong = check("s30", 15)
    assert wrong.startswith("Prometheus ") and " answers at " in wrong
    assert wrong.endswith(
        "its series are scraped every 30s but [prometheus] scrape_interval_s is 15: most polls "
        "would find no series (NO DATA); set it to 30"
    ), wrong
    assert "scraped every" not in check("s30", 30)
    assert "scraped every" not in check("s15", 15)
    assert "scraped every" not in check("s15", 30)  # longer only counts less often
