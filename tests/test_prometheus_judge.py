"""The sequential judge and the automation on a real Prometheus, end to end.

One Prometheus holds backfilled Istio history for several services (tests/prom_history.py, drawn
counts from a fixed seed): a healthy canary, a 5x canary, a canary whose pods crash (its series
stop), one that gets no requests (its counters go flat), a shared incident (both versions' 5xx up
10 points for 60 s) and the same spike on the canary alone, and a service scraped every 15 s.
Each rollout runs the production path (PrometheusMetrics, the observer, the judge, the policy)
with a simulated route that sends the canary 10 % and takes compare-and-set writes, at a fixed
clock the test moves one poll at a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.judge.counts import RUN_BREAK_POLLS
from monotui.model import Phase, Snapshot, VerdictResult, Weights
from monotui.rollout import Rollout, assemble
from monotui.rollout.observer import judge_for
from monotui.sim.scenarios import HEALTHY
from monotui.sim.sources import SimRouter
from monotui.sim.world import World
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.prom_history import History
from tests.prometheus_server import Clock, PrometheusServer, backfilled

T0 = float(int(time.time() - 3 * 3600) // 60 * 60)
SPAN_S = 900
VANISH_S = 400  # the crashed canary's last sample, after T0
INCIDENT_S = (500, 560)  # both versions' 5xx up 10 points
AT_10 = Weights(90, 10)


def _spike(t: float) -> float:
    return 0.105 if INCIDENT_S[0] <= t < INCIDENT_S[1] else 0.005


def history() -> History:
    h = History(T0, span_s=SPAN_S, seed=20261201)
    for service, canary in (
        ("healthy", {"error": 0.005}),
        ("bad", {"error": 0.025}),  # 5x the baseline, still below the 5 % limit
        ("vanish", {"error": 0.005, "end": VANISH_S}),
        ("flat", {"error": 0.005, "flat_after": VANISH_S}),
        ("incident", {"error": _spike}),
        ("blamed", {"error": _spike}),
    ):
        baseline_error = _spike if service == "incident" else 0.005
        h.add(service, "v1", rps=20.0, error=baseline_error)
        h.add(service, "v2", rps=5.0, **canary)
    h.add("sparse", "v1", rps=10.0, error=0.01, step_s=15.0, exact=True)
    h.add("sparse", "v2", rps=2.0, error=0.1, step_s=15.0, exact=True)
    return h


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """One Prometheus for the whole module: backfilling and starting it costs seconds."""
    with backfilled(Path(tmp_path_factory.mktemp("prometheus")), history().openmetrics()) as server:
        yield server


def config(service: str, hold_s: float = 60, **judge: object) -> RolloutConfig:
    data = {
        "name": service,
        "namespace": "bookinfo",
        "steps": [10, 25, 50, 100],
        "hold_s": hold_s,
        "interval_s": 10,
        "policy": "auto",
        "router": {"kind": "none"},
        # history in 10 s steps: two scrapes in each, so each step counts
        "metrics": {"kind": "prometheus", "history_s": 3000},
        "judge": {"nodata_limit": 3, **judge},
    }
    return parse({"rollouts": [data]}).rollouts[0]


@dataclass
class Run:
    """One rollout on the simulated route, polled by the test."""

    rollout: Rollout
    world: World
    clock: Clock
    service: str

    @property
    def weights(self) -> Weights:
        return self.world.route(self.service)[0]

    def polls(self, n: int, every_s: float = 10.0) -> list[Snapshot]:
        out = []
        for _ in range(n):
            self.clock.now += every_s
            out.append(self.rollout.cycle())
        return out

    def texts(self) -> list[str]:
        return [e.text for e in self.rollout.events()]


def run(prom: PrometheusServer, service: str, at: float, hold_s: float = 60) -> Run:
    """The rollout of `service`, its route at 10 %, started (history read) at T0 + `at`."""
    world = World(seed=1)
    world.add_rollout(service, "bookinfo", HEALTHY, weights=AT_10)
    clock = Clock(T0 + at)
    cfg = config(service, hold_s)
    source = PrometheusMetrics(
        PrometheusConfig(url=prom.url, scrape_interval_s=5), cfg, clock=clock
    )
    rollout = assemble(cfg, router=SimRouter(world, service), metrics=source, clock=clock)
    rollout.start()
    return Run(rollout, world, clock, service)


# --- the judge on history ------------------------------------------------------------------


def test_the_judge_on_real_history_passes_healthy_and_fails_a_5x_canary(
    prom: PrometheusServer,
) -> None:
    verdicts = {}
    for service in ("healthy", "bad"):
        cfg = config(service)
        source = PrometheusMetrics(
            PrometheusConfig(url=prom.url, scrape_interval_s=5), cfg, clock=lambda: T0 + 900
        )
        samples = source.history(600, 60)
        source.close()
        canary = sum(s.canary.requests or 0.0 for s in samples)
        assert canary == pytest.approx(5.0 * 600, rel=0.05)  # drawn around 5 req/s
        verdict = judge_for(cfg).judge(
            samples, run_since=None, step_since=None, canary_expected=True
        )
        assert verdict.canary_requests == pytest.approx(canary)  # every poll, the first too
        verdicts[service] = verdict

    healthy, bad = verdicts["healthy"], verdicts["bad"]
    assert healthy.result == VerdictResult.PASS, healthy.reason
    assert re.match(
        r"no evidence of harm \((5xx|slow) evidence [\d.]+x of the 100x that rolls back\); "
        r"rests on [\d,]+ canary requests in this step",
        healthy.reason,
    ), healthy.reason
    evidence = healthy.metrics[0].evidence
    assert evidence is not None and evidence.e_value < evidence.limit
    assert bad.result == VerdictResult.FAIL, bad.reason
    assert bad.metrics[0].label.value == "HIGH"
    evidence = bad.metrics[0].evidence
    assert evidence is not None and evidence.e_value >= evidence.limit == 100.0
    assert evidence.ci_low is not None and evidence.ci_low > 1.0  # the canary is worse
    assert bad.metrics[0].canary == pytest.approx(0.025, abs=0.01)  # under the 5 % guard


# --- a crashed canary: NO DATA, never an advance, a pause that says why ----------------------


def test_a_canary_whose_series_stop_is_no_data_never_advances_and_pauses(
    prom: PrometheusServer,
) -> None:
    control = run(prom, "healthy", VANISH_S - 50)
    control.polls(7)  # the hold (60 s) is over at the 6th poll
    assert control.weights == Weights(75, 25)  # a healthy canary advances on this timeline

    crashed = run(prom, "vanish", VANISH_S - 50)
    before = crashed.polls(5)  # up to the last canary sample
    assert [s.verdict.result for s in before] == [VerdictResult.PASS] * 5
    after = crashed.polls(3)
    for snap in after:
        assert snap.verdict.result == VerdictResult.NODATA
        assert "no canary data in the newest poll" in snap.verdict.reason
        assert "while the route sends it traffic" in snap.verdict.reason
        assert snap.current("error_rate").canary is None  # NO DATA, not 0 %
        assert snap.current("error_rate").baseline is not None
    assert crashed.weights == AT_10  # the hold was over, but no fresh canary data: no advance
    paused = after[-1]
    assert paused.plan.paused
    stored = crashed.world.pause("vanish")
    assert stored is not None and "3 polls without fresh canary data (limit 3)" in stored
    assert any("3 polls without fresh canary data" in t for t in crashed.texts())

    later = crashed.polls(6)
    assert all(s.plan.paused for s in later) and crashed.weights == AT_10
    assert all(s.phase != Phase.ROLLED_BACK for s in later)  # a gap is no evidence of harm
    control.rollout.close()
    crashed.rollout.close()


def test_a_canary_that_gets_no_requests_waits_for_traffic_and_never_pauses(
    prom: PrometheusServer,
) -> None:
    """Its pods run (the series stay), but nothing reaches them while the baseline serves: once
    that has lasted RUN_BREAK_POLLS polls the run of canary traffic is over, so the requests it
    served before no longer count, and the step waits for canary requests; it neither advances
    nor pauses (no evidence either way)."""
    idle = run(prom, "flat", VANISH_S + 50)
    snaps = idle.polls(10)
    assert all(s.verdict.result == VerdictResult.PASS for s in snaps)
    quiet_for = [round((s.t - T0 - VANISH_S) / 10) for s in snaps]
    after_break = [s for s, q in zip(snaps, quiet_for, strict=True) if q >= RUN_BREAK_POLLS]
    assert after_break, "the test never reached the run break"
    for snap in after_break:
        assert snap.verdict.canary_requests == 0
        assert "rests on 0 canary requests in this step" in snap.verdict.reason
    assert idle.weights == AT_10 and not snaps[-1].plan.paused
    assert "waiting for canary traffic: 0 of 1 requests" in snaps[-1].next_action
    idle.rollout.close()


# --- a shared incident is not the canary -------------------------------------------------------


def test_a_shared_incident_holds_and_never_rolls_back(prom: PrometheusServer) -> None:
    shared = run(prom, "incident", INCIDENT_S[0] - 50, hold_s=10_000)
    snaps = shared.polls(20)
    assert shared.weights == AT_10
    assert all(s.phase != Phase.ROLLED_BACK for s in snaps)
    assert all(s.verdict.result != VerdictResult.FAIL for s in snaps), [
        s.verdict.reason for s in snaps if s.verdict.result == VerdictResult.FAIL
    ]
    held = [s for s in snaps if s.verdict.incident]
    assert held, "the incident was never called"
    for snap in held:
        assert snap.verdict.result == VerdictResult.MARGINAL
        assert snap.verdict.reason.startswith("both versions failing: not the canary")
        # both above the 5 % limit in the newest window (the step's pooled rates are lower)
        now = re.search(
            r"canary 5xx ([\d.]+) % now, .* baseline ([\d.]+) % too", snap.verdict.reason
        )
        assert now is not None, snap.verdict.reason
        assert float(now[1]) > 5.0 and float(now[2]) > 5.0
    texts = shared.texts()
    assert any(t.startswith("automation holds: both versions failing") for t in texts)
    assert "automation goes on: the versions stopped failing together" in texts
    assert not snaps[-1].verdict.incident  # it ended with the spike
    shared.rollout.close()


def test_the_same_spike_on_the_canary_alone_rolls_back(prom: PrometheusServer) -> None:
    blamed = run(prom, "blamed", INCIDENT_S[0] - 50, hold_s=10_000)
    snaps = blamed.polls(12)
    assert blamed.weights == Weights(100, 0)
    failed = next(s for s in snaps if s.verdict.result == VerdictResult.FAIL)
    assert not failed.verdict.incident
    assert snaps[-1].phase == Phase.FAILED  # rolled back by the automation: terminal
    assert any(
        t.startswith("rolled back: 90/10 -> 100/0 (verdict FAIL: 5xx") for t in blamed.texts()
    )
    blamed.rollout.close()


# --- polls shorter than the scrape interval ---------------------------------------------------


def test_polls_shorter_than_the_scrape_interval_count_two_scrapes_at_a_time_then_tile(
    prom: PrometheusServer,
) -> None:
    """Scraped every 15 s, polled every 5 s: a 5 s span never holds the two scrapes increase()
    needs, so a poll counts only once two scrapes have passed (the first one counts two scrapes
    back) and the polls between read nothing new: no gap in the charts, and the spans tile."""
    cfg = config("sparse").model_copy(update={"interval_s": 5.0})
    clock = Clock(T0 + 200)
    prometheus = PrometheusConfig(url=prom.url, scrape_interval_s=15)
    source = PrometheusMetrics(prometheus, cfg, clock=clock)
    rollout = assemble(cfg, router=StaticRouter(), metrics=source, clock=clock)
    rollout.start(history=False)
    for _ in range(15):
        clock.now += 5
        snap = rollout.cycle()
    counted = [s for s in snap.samples if s.baseline.requests is not None]
    assert counted == list(snap.samples), [(s.t - T0, s.span_s) for s in snap.samples]
    assert len(counted) == 3  # T0 + 200, 230, 260 (the first poll's and two more)
    assert counted[0].t - counted[0].span_s == pytest.approx(T0 + 170)  # two scrapes back
    for before, after in zip(counted, counted[1:], strict=False):
        assert after.t - after.span_s == pytest.approx(before.t)
    start, end = counted[0].t - counted[0].span_s, counted[-1].t
    total = sum(s.baseline.requests or 0.0 for s in counted)
    assert total == pytest.approx(10.0 * (end - start), rel=1e-9)  # linear counters: exact
    assert all(s.canary.value(0) == pytest.approx(0.1, abs=1e-9) for s in counted)
    rollout.close()
