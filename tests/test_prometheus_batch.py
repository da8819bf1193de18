"""The fleet's counts batched on a real Prometheus: one query per count per poll for every rollout
that shares the default templates, each rollout's own numbers split back out of it.

Backfilled history (tests/fleet_history.py): counters that grow linearly, so every increase is
exact. Two rollouts named `reviews` in namespaces `a` and `b` with different traffic; `ratings`
whose canary never served (no series: NO DATA, not zero); `details` with an override of its 5xx
count beside its batched requests and buckets; `shop`, a host split (the versions are the
Services shop-stable and shop-canary).
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from monotui.config import Config, PrometheusConfig, RolloutConfig
from monotui.errors import BackendUnavailableError
from monotui.model import SourceState
from monotui.registry import PRODUCTION, BuildContext
from monotui.rollout import assemble
from monotui.sources import prometheus_batch
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.promql_batch import RECORDED, Member, batch_filter, batched_template
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.contract_common import closed_port
from tests.fleet_history import STEP_S, T0, Traffic, openmetrics
from tests.prometheus_server import PrometheusServer, binary

ROOT = Path(__file__).resolve().parent.parent

AT = T0 + 900.0
TRAFFIC = (
    Traffic("a", "reviews", {"v1": (10.0, 0.01), "v2": (2.0, 0.10)}),
    Traffic("b", "reviews", {"v1": (5.0, 0.20), "v2": (4.0, 0.0)}),
    Traffic("a", "ratings", {"v1": (3.0, 0.02)}),  # its canary v2 never served
    Traffic("a", "details", {"v1": (8.0, 0.05), "v2": (8.0, 0.25)}),
    Traffic("c", "neighbour", {"v1": (99.0, 0.9), "v2": (99.0, 0.9)}),  # nobody's: ignored
    # A host split: the versions are two Services (Argo's stable/canary Services).
    Traffic("a", "shop-stable", {"v1": (6.0, 0.0)}),
    Traffic("a", "shop-canary", {"v1": (3.0, 0.30)}),
)
DETAILS_ERRORS = (  # its 5xx counted its own way: 503 only, any reporter
    'sum by ($version_label) (increase(istio_requests_total{$filter,response_code="503"}'
    "[$interval]))"
)


def _config(url: str, **prometheus: Any) -> Config:
    def rollout(name: str, namespace: str, **metrics: Any) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": namespace,
            "router": {"kind": "none"},
            "metrics": {"kind": "prometheus", "service": name.split("-")[0], **metrics},
        }

    return parse(
        {
            "prometheus": {"url": url, "scrape_interval_s": STEP_S, **prometheus},
            "rollouts": [
                rollout("reviews-a", "a"),
                rollout("reviews-b", "b"),
                rollout("ratings", "a"),
                rollout("details", "a", errors_query=DETAILS_ERRORS),
            ],
        }
    )


def _sources(cfg: Config, at: float = AT) -> dict[str, PrometheusMetrics]:
    ctx = BuildContext(cfg, clock=lambda: at)
    out = {}
    for r in cfg.rollouts:
        source = PRODUCTION.get("metrics", "prometheus").build(r.metrics, r, ctx)
        assert isinstance(source, PrometheusMetrics)
        out[r.name] = source
    return out


@pytest.fixture
def backfilled(prometheus: PrometheusServer) -> PrometheusServer:
    prometheus.backfill(openmetrics(TRAFFIC))
    prometheus.start()
    return prometheus


def _rates(source: PrometheusMetrics, since: float) -> tuple[Any, ...]:
    sample = source.fetch(since)
    span = sample.span_s
    b, c = sample.baseline, sample.canary
    return (
        None if b.requests is None else b.requests / span,
        None if c.requests is None else c.requests / span,
        b.value(0),
        c.value(0),
    )


def test_one_query_per_count_for_the_fleet_each_rollout_gets_its_own_numbers(
    backfilled: PrometheusServer,
) -> None:
    sources = _sources(_config(backfilled.url))
    shared = sources["reviews-a"].shared
    assert all(s.shared is shared for s in sources.values())  # one client for the fleet
    before = shared.sent
    since = AT - 60
    rates = {name: _rates(source, since) for name, source in sources.items()}
    # requests, 5xx and buckets once for everyone, plus the override's own 5xx query.
    assert shared.sent - before == 4
    approx = pytest.approx
    # The same service name in two namespaces: each its own traffic.
    assert rates["reviews-a"] == approx((10.0, 2.0, 0.01, 0.10), rel=1e-3)
    assert rates["reviews-b"] == approx((5.0, 4.0, 0.20, 0.0), rel=1e-3, abs=1e-9)
    # A version without series is NO DATA, never zero; the baseline still reads.
    baseline_rps, canary_rps, baseline_err, canary_err = rates["ratings"]
    assert baseline_rps == approx(3.0, rel=1e-3) and baseline_err == approx(0.02, rel=1e-3)
    assert canary_rps is None and canary_err is None
    # The override's 5xx from its own query, its requests from the batch.
    assert rates["details"] == approx((8.0, 8.0, 0.05, 0.25), rel=1e-3)
    assert "errors" not in sources["details"].batched
    assert sources["details"].batched == {"requests", "latency_buckets"}
    # The p99 from the batched buckets: 250 ms for everyone who served.
    latency = sources["reviews-b"].fetch(since - 60)
    assert latency.baseline.value(1) == approx(250.0, rel=1e-3)


def test_a_host_split_beside_the_batch_keeps_its_own_queries_and_its_numbers(
    backfilled: PrometheusServer,
) -> None:
    cfg = parse(
        {
            "prometheus": {"url": backfilled.url, "scrape_interval_s": STEP_S},
            "rollouts": [
                {"name": "reviews", "namespace": "a", "router": {"kind": "none"}},
                {
                    "name": "shop",
                    "namespace": "a",
                    "router": {"kind": "none"},
                    "metrics": {
                        "version_label": "destination_service_name",
                        "baseline": "shop-stable",
                        "canary": "shop-canary",
                    },
                },
            ],
        }
    )
    sources = _sources(cfg)
    # A split by service could not find the versions' series: the host split asks on its own.
    assert sources["shop"].batched == frozenset()
    assert sources["reviews"].batched == {"requests", "errors", "latency_buckets"}
    approx = pytest.approx
    assert _rates(sources["shop"], AT - 60) == approx((6.0, 3.0, 0.0, 0.30), rel=1e-3, abs=1e-9)
    assert _rates(sources["reviews"], AT - 60) == approx((10.0, 2.0, 0.01, 0.10), rel=1e-3)


def test_concurrent_polls_of_one_tick_send_the_queries_once(backfilled: PrometheusServer) -> None:
    sources = _sources(_config(backfilled.url))
    shared = sources["reviews-a"].shared
    before = shared.sent
    since = AT - 30
    barrier = threading.Barrier(len(sources))
    found: dict[str, tuple[Any, ...]] = {}

    def poll(name: str) -> None:
        barrier.wait()
        found[name] = _rates(sources[name], since)

    threads = [threading.Thread(target=poll, args=(name,)) for name in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(found) == 4
    assert shared.sent - before == 4
    assert found["reviews-b"][:2] == pytest.approx((5.0, 4.0), rel=1e-3)
    # The next poll of a rollout starts the next tick: a new span is a new query.
    sources["reviews-a"].fetch(since)
    assert shared.sent - before == 4 + 3


def test_history_is_batched_the_same_way(backfilled: PrometheusServer) -> None:
    sources = _sources(_config(backfilled.url))
    shared = sources["reviews-a"].shared
    before = shared.sent
    histories = {name: s.history(600, 60) for name, s in sources.items()}
    assert shared.sent - before == 4  # three range queries for the fleet, the override's own
    for name, samples in histories.items():
        assert len(samples) == 60 and samples[-1].t == pytest.approx(AT, abs=1e-3), name
    last = histories["reviews-b"][-1]
    assert last.baseline.requests == pytest.approx(5.0 * 10, rel=1e-3)  # a 10 s step
    assert last.baseline.value(0) == pytest.approx(0.20, rel=1e-3)
    assert histories["ratings"][-1].canary.requests is None
    assert histories["details"][-1].canary.value(0) == pytest.approx(0.25, rel=1e-3)


def test_a_history_asked_for_ahead_is_what_every_rollout_then_reads(
    backfilled: PrometheusServer,
) -> None:
    # `status` asks for the fleet's history while it connects to Kubernetes: the rollouts' own
    # history calls must take that answer, not ask again, and read the same samples.
    alone = {name: s.history(600, 60) for name, s in _sources(_config(backfilled.url)).items()}
    sources = _sources(_config(backfilled.url))
    shared = sources["reviews-a"].shared
    before = shared.sent
    sources["ratings"].prefetch_history(600, 60)
    sources["reviews-b"].prefetch_history(600, 60)  # the same grid, fresh: nothing sent
    assert shared.sent - before == 3  # the fleet's three range queries
    ahead = {name: s.history(600, 60) for name, s in sources.items()}
    assert shared.sent - before == 4  # and the override's own, when its rollout asks
    assert ahead == alone
    assert ahead["reviews-b"][-1].baseline.requests == pytest.approx(5.0 * 10, rel=1e-3)


def test_a_prometheus_that_is_down_costs_one_try_per_count_not_one_per_rollout() -> None:
    sources = _sources(_config(f"http://127.0.0.1:{closed_port()}", timeout_s=1))
    shared = sources["reviews-a"].shared
    for source in sources.values():
        with pytest.raises(BackendUnavailableError):
            source.fetch(AT - 10)
    # The fleet's three counts, once; the override's rollout fails on the shared answer first.
    assert shared.sent == 3


def test_recording_rules_are_read_when_turned_on_and_present(tmp_path: Path) -> None:
    recorded = openmetrics(TRAFFIC[:2], prefix="workload:")
    raw_other = openmetrics([Traffic("a", "reviews", {"v1": (77.0, 0.5), "v2": (1.0, 0.0)})])
    server = PrometheusServer(tmp_path / "prometheus")
    # The raw series say something else: which ones were read shows in the numbers.
    server.backfill(recorded.removesuffix("# EOF\n") + raw_other)
    server.start()
    try:
        on = _sources(_config(server.url, recording_rules=True))
        assert _rates(on["reviews-a"], AT - 60)[:2] == pytest.approx((10.0, 2.0), rel=1e-3)
        off = _sources(_config(server.url))
        assert _rates(off["reviews-a"], AT - 60)[:2] == pytest.approx((77.0, 1.0), rel=1e-3)
    finally:
        server.kill()


def test_without_the_recorded_series_the_raw_metrics_are_read(backfilled: PrometheusServer) -> None:
    on = _sources(_config(backfilled.url, recording_rules=True))
    assert _rates(on["reviews-a"], AT - 60)[:2] == pytest.approx((10.0, 2.0), rel=1e-3)


def test_a_source_built_alone_sends_its_own_queries() -> None:
    rollout: RolloutConfig = _config("http://127.0.0.1:9").rollouts[0]
    alone = PrometheusMetrics(PrometheusConfig(), rollout)
    assert alone.batched == frozenset()
    assert "sum by (destination_version)" in alone.queries(10)["requests"]
    alone.close()


def test_the_shipped_recording_rules_load_and_both_forms_say_the_same() -> None:
    plain = ROOT / "deploy" / "prometheus" / "monotui-rules.yml"
    checked = subprocess.run(
        [binary("promtool"), "check", "rules", str(plain)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    operator = yaml.safe_load((plain.parent / "monotui-prometheusrule.yaml").read_text())
    assert operator["kind"] == "PrometheusRule"
    assert operator["spec"] == yaml.safe_load(plain.read_text())
    recorded = {rule["record"] for group in operator["spec"]["groups"] for rule in group["rules"]}
    assert recorded == set(RECORDED.values())  # exactly the series monotui reads


def test_the_batched_filter_matches_only_the_members_names() -> None:
    members = [Member("shop", "re.views", ("v1", "v2")), Member("a|b", "ratings", ("1.0",))]
    text = batch_filter(members, "destination_version", 'source_app="x"')
    # What Prometheus reads inside each string: the regex of exactly these values.
    regexes = dict(
        (label, value.replace("\\\\", "\\")) for label, value in re.findall(r'(\w+)=~"(.*?)"', text)
    )
    assert re.fullmatch(regexes["destination_service_name"], "re.views")
    assert not re.fullmatch(regexes["destination_service_name"], "rexviews")
    assert re.fullmatch(regexes["destination_service_namespace"], "a|b")
    assert not re.fullmatch(regexes["destination_service_namespace"], "a")
    assert not re.fullmatch(regexes["destination_version"], "1x0")
    assert text.endswith(',source_app="x"')
    # A template that names one rollout cannot be batched: it is sent per rollout.
    assert batched_template('sum by ($version_label) (x{service="$service",$filter})') is None


def test_a_long_history_is_asked_for_in_chunks_of_rollouts(
    backfilled: PrometheusServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = {name: s.history(600, 60) for name, s in _sources(_config(backfilled.url)).items()}
    monkeypatch.setattr(prometheus_batch, "MAX_POINTS", 250)  # two rollouts' counts a query
    sources = _sources(_config(backfilled.url))
    shared = sources["reviews-a"].shared
    chunked = {name: s.history(600, 60) for name, s in sources.items()}
    # requests and 5xx: two chunks of two; buckets: one rollout each; the override's own 5xx.
    assert shared.sent == 2 + 2 + 4 + 1
    assert chunked == whole


def test_a_start_from_fresh_history_shows_the_current_numbers_at_once(
    backfilled: PrometheusServer,
) -> None:
    # What status does: history, then one observation. The history's newest step is the current
    # reading; a read over the milliseconds since would have no samples (NO DATA until the next
    # poll).
    cfg = _config(backfilled.url)
    sources = _sources(cfg)
    rollout = cfg.rollouts[0]
    one = assemble(rollout, router=StaticRouter(), metrics=sources["reviews-a"], clock=lambda: AT)
    snapshot = one.observer.start(history=True, watch=False, span_s=1800)  # 6 s steps
    assert snapshot.current("error_rate").canary == pytest.approx(0.10, rel=1e-3)
    assert snapshot.current("error_rate").baseline == pytest.approx(0.01, rel=1e-3)
    status = snapshot.source("metrics")
    assert status is not None and status.state == SourceState.OK
    assert sources["reviews-a"].shared.sent == 3  # the history's range queries, nothing else


def test_a_rollout_behind_the_others_catches_up_through_one_bridge(
    backfilled: PrometheusServer,
) -> None:
    sources = _sources(_config(backfilled.url))
    shared = sources["reviews-a"].shared
    front = sources["reviews-a"].fetch(AT - 30)  # the group's newest tick: (AT-30, AT]
    assert shared.sent == 3
    # Two rollouts whose last poll ended at AT-60 (they came late once): one bridge
    # (AT-60, AT-30] for both, then their share of the newest tick: no tick of their own.
    behind = [sources[name].fetch(AT - 60) for name in ("reviews-b", "ratings")]
    assert shared.sent == 3 + 3
    assert front.span_s == pytest.approx(30) and front.t == pytest.approx(AT)
    for sample in behind:
        assert sample.t == pytest.approx(AT) and sample.span_s == pytest.approx(60)
    b, ratings = behind
    assert b.baseline.requests == pytest.approx(5.0 * 60, rel=1e-3)  # both spans, counted once
    assert b.baseline.value(0) == pytest.approx(0.20, rel=1e-3)
    assert ratings.baseline.requests == pytest.approx(3.0 * 60, rel=1e-3)
    assert ratings.canary.requests is None  # still NO DATA, not zero


def test_a_rollout_a_few_seconds_behind_is_not_bridged_over_a_span_too_short_to_count(
    backfilled: PrometheusServer,
) -> None:
    """A bridge shorter than two scrapes holds no series (increase() needs two samples): the
    rollout counts its own whole span instead of losing the bridge's seconds."""
    sources = _sources(_config(backfilled.url))
    shared = sources["reviews-a"].shared
    sources["reviews-a"].fetch(AT - 30)  # the group's newest tick: (AT-30, AT]
    late = sources["reviews-b"].fetch(AT - 33)  # 3 s behind: less than two 5 s scrapes
    assert shared.sent == 3 + 3  # its own tick, no bridge
    assert late.span_s == pytest.approx(33)
    assert late.baseline.requests == pytest.approx(5.0 * 33, rel=1e-3)  # not 5.0 * 30


class _CountingSender:
    """A Prometheus that answers every range query with nothing, counting them."""

    def __init__(self) -> None:
        self.ranges = 0

    def instant(self, query: str, at: float, what: str) -> list[Any]:
        return []

    def range(self, query: str, start: float, end: float, step_s: float, what: str) -> list[Any]:
        self.ranges += 1
        return []

    def all(self, ask: Any, queries: Mapping[str, str]) -> dict[str, list[Any]]:
        return {name: ask(query, name) for name, query in queries.items()}

    def recording_rules(self, at: float) -> bool:
        return False


def test_a_fleet_whose_starts_take_minutes_reads_its_history_once() -> None:
    # Judging hundreds of histories takes a while: the last starts come minutes after the
    # first, and must take the fleet's history, not fetch it all again.
    sender, now = _CountingSender(), [0.0]
    batcher = prometheus_batch.QueryBatcher(sender, monotonic=lambda: now[0])
    group = prometheus_batch.Group("destination_version")
    members = [Member("ns", f"svc-{i}", ("v1", "v2")) for i in range(5)]
    for m in members:
        batcher.join(group, m, ["requests", "errors"])
    ttl = PrometheusMetrics.history_ttl_s(5.0)
    for m in members:
        batcher.range(group, m, step_ms=5000, points=360, end_ms=1_000_000, ttl_s=ttl)
        now[0] += 120.0  # the next start, two minutes later
    assert sender.ranges == 2  # the fleet's requests and 5xx, once
    # A rollout started again later reads its history anew, not its old share.
    batcher.range(group, members[0], step_ms=5000, points=360, end_ms=2_000_000, ttl_s=ttl)
    assert sender.ranges == 4
