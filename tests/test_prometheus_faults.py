"""Every way the Prometheus path fails is visible in the snapshot and harmless.

tests/fakeprom.py plays a broken Prometheus (500, an HTML page, a body cut short, a trickle, a
huge or endless answer, NaN, negative counts, an old evaluation, `status: error`); the real
server is killed mid-run and restarted. Each test asserts what the user sees: the `metrics`
source's state and its one-line message, a typed error, and a gap that is never a zero.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.errors import (
    BackendUnavailableError,
    MonotuiError,
    PermissionDeniedError,
    SourceError,
)
from monotui.model import Pair, Snapshot, SourceState, SourceStatus
from monotui.rollout import assemble
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.fakeprom import FakePrometheus, Fault, counts
from tests.prometheus_server import (  # noqa: F401
    Clock,
    PrometheusServer,
    free_port,
    prometheus,
    wait_until,
)
from tests.test_prometheus_backfill import STEP_S, T0, history_openmetrics

BUCKETS = {"100": 490.0, "250": 499.0, "+Inf": 500.0}


@pytest.fixture
def prom() -> Iterator[FakePrometheus]:
    """A fake Prometheus that answers a healthy poll until a test sets a fault."""
    with FakePrometheus() as server:
        counts(server, "v1", requests=500.0, errors=5.0, buckets=BUCKETS)
        counts(server, "v2", requests=100.0, errors=1.0, buckets={"+Inf": 100.0})
        yield server


def _rollout() -> RolloutConfig:
    data = {"name": "reviews", "namespace": "bookinfo", "router": {"kind": "none"}}
    return parse({"rollouts": [data]}).rollouts[0]


Poll = Callable[..., tuple[Snapshot, SourceStatus]]


@pytest.fixture
def poll() -> Iterator[Poll]:
    """One poll through a rollout: `poll(url, timeout_s=2.0)` -> (snapshot, the metrics
    status). The sources are closed at teardown: queries still in flight then are not cut."""
    opened: list[PrometheusMetrics] = []

    def run(url: str, timeout_s: float = 2.0) -> tuple[Snapshot, SourceStatus]:
        rollout = _rollout()
        source = PrometheusMetrics(
            PrometheusConfig(scrape_interval_s=STEP_S, url=url, timeout_s=timeout_s), rollout
        )
        opened.append(source)
        snap = assemble(rollout, router=StaticRouter(), metrics=source).cycle()
        status = snap.source("metrics")
        assert status is not None
        return snap, status

    yield run
    for source in opened:
        source.close()


def _raw(prom: FakePrometheus, status: int, body: bytes, kind: str = "application/json") -> None:
    prom.fault = Fault.RAW
    prom.raw_status, prom.raw_body, prom.raw_headers = status, body, {"Content-Type": kind}


def _assert_gap(snap: Snapshot) -> None:
    """The failed poll is a gap: no count, no value, no split, and never a healthy verdict."""
    latest = snap.latest
    assert latest is not None and not latest.has_data
    assert latest.baseline.requests is None and latest.canary.requests is None
    assert snap.current("error_rate") == Pair() and snap.current("latency_p99_ms") == Pair()
    assert snap.observed_split is None
    assert snap.verdict.result.value == "NODATA"


def _one_clean_line(message: str) -> None:
    assert message and "\n" not in message and "\r" not in message
    assert all(ch.isprintable() for ch in message), repr(message)


def test_a_healthy_poll_reads_three_counts(prom: FakePrometheus, poll: Poll) -> None:
    """The baseline the faults below break: three queries, counts and values per version."""
    snap, status = poll(prom.url)
    assert status.state == SourceState.OK, status
    assert len(prom.requests) == 3  # requests, 5xx, the duration buckets
    latest = snap.latest
    assert latest is not None
    assert (latest.baseline.requests, latest.canary.requests) == (500.0, 100.0)
    assert latest.baseline.value(0) == pytest.approx(0.01)
    assert latest.canary.value(0) == pytest.approx(0.01)
    assert latest.baseline.value(1) == pytest.approx(100 + 150 * (495 - 490) / 9)  # the p99


def test_http_500_is_an_error_with_the_body(prom: FakePrometheus, poll: Poll) -> None:
    _raw(prom, 500, b"upstream exploded", "text/plain")
    snap, status = poll(prom.url)
    assert status.state == SourceState.ERROR
    assert "failed (HTTP 500): upstream exploded" in status.message
    # One request per count, sent at once; no silent retries holding the poll.
    wait_until(lambda: len(prom.requests) >= 3, 5, "the three count queries")
    assert len(prom.requests) == 3
    _one_clean_line(status.message)
    _assert_gap(snap)


def test_an_html_login_page_is_an_error_that_says_what_it_got(
    prom: FakePrometheus, poll: Poll
) -> None:
    _raw(prom, 200, b"<html><body>login required</body></html>", "text/html")
    snap, status = poll(prom.url)
    assert status.state == SourceState.ERROR
    assert "not the Prometheus API's JSON" in status.message
    assert "login required" in status.message and "<html>" not in status.message
    _assert_gap(snap)


def test_json_that_is_not_a_query_result_is_an_error(prom: FakePrometheus, poll: Poll) -> None:
    _raw(prom, 200, b'{"status":"success","data":{"result":"oops"}}')
    snap, status = poll(prom.url)
    assert status.state == SourceState.ERROR
    assert "is [prometheus] url a Prometheus API?" in status.message
    _assert_gap(snap)


def test_a_result_without_its_type_is_an_error_not_data(prom: FakePrometheus, poll: Poll) -> None:
    # The shape an older fake (and a hand-rolled proxy) answered with: no resultType.
    result = [{"metric": {"destination_version": "v1"}, "value": [time.time(), "0.5"]}]
    _raw(prom, 200, json.dumps({"status": "success", "data": {"result": result}}).encode())
    snap, status = poll(prom.url)
    assert status.state == SourceState.ERROR
    assert "a result that is not a vector" in status.message
    _assert_gap(snap)


def test_truncated_body_is_an_error(prom: FakePrometheus, poll: Poll) -> None:
    prom.fault = Fault.TRUNCATED
    snap, status = poll(prom.url)
    assert status.state == SourceState.ERROR
    assert "cut its answer short" in status.message
    _assert_gap(snap)


def test_status_error_in_a_200_reaches_the_user(prom: FakePrometheus, poll: Poll) -> None:
    error = {"status": "error", "errorType": "execution", "error": "query too expensive\x1b[31m"}
    _raw(prom, 200, json.dumps(error).encode())
    snap, status = poll(prom.url)
    assert status.state == SourceState.ERROR
    assert "rejected the requests query: execution: query too expensive" in status.message
    assert "\x1b" not in status.message  # outside text never drives the terminal
    _assert_gap(snap)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(503, "timeout"), (503, "unavailable"), (422, "timeout"), (500, "internal")],
)
def test_a_query_prometheus_failed_to_run_is_not_called_rejected(
    prom: FakePrometheus, poll: Poll, status: int, kind: str
) -> None:
    # Prometheus' own answer when its query times out or it is shutting down (HTTP 503).
    error = {"status": "error", "errorType": kind, "error": "query timed out in query execution"}
    _raw(prom, status, json.dumps(error).encode())
    snap, health = poll(prom.url)
    assert health.state == SourceState.ERROR
    assert "rejected" not in health.message, health.message
    assert (
        f"could not answer the requests query (HTTP {status}, {kind}: query timed out in query "
        "execution)" in health.message
    )
    _assert_gap(snap)


def test_unreachable_is_an_error_that_names_the_url(poll: Poll) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    snap, status = poll(url)
    assert status.state == SourceState.ERROR
    assert f"cannot reach Prometheus at {url}: connection refused" in status.message
    _assert_gap(snap)


@pytest.mark.parametrize("fault", [Fault.NAN, Fault.INF])
def test_nan_and_inf_counts_are_no_data_not_zero(
    prom: FakePrometheus, fault: Fault, poll: Poll
) -> None:
    prom.fault = fault
    snap, status = poll(prom.url)
    assert status.state == SourceState.OK  # Prometheus answered; it had no number
    _assert_gap(snap)


def test_a_nan_5xx_count_is_no_data_not_zero_errors(prom: FakePrometheus, poll: Poll) -> None:
    """Only the 5xx answer is NaN: the error rate is unknown, not 0 % (the requests are fine)."""
    prom.fault_when = {"response_code": Fault.NAN}
    snap, _ = poll(prom.url)
    latest = snap.latest
    assert latest is not None and latest.baseline.requests == 500.0
    assert latest.baseline.bad_of(0) is None and latest.baseline.value(0) is None
    assert latest.canary.bad_of(0) is None and latest.canary.value(0) is None
    assert snap.current("error_rate") == Pair()


def test_a_negative_count_is_a_broken_query(prom: FakePrometheus, poll: Poll) -> None:
    prom.fault = Fault.NEGATIVE
    snap, status = poll(prom.url)
    assert status.state == SourceState.ERROR
    assert "a count cannot be negative; check the query" in status.message
    _assert_gap(snap)
    source = PrometheusMetrics(PrometheusConfig(scrape_interval_s=STEP_S, url=prom.url), _rollout())
    with pytest.raises(SourceError, match="negative"):
        source.fetch(None)
    source.close()


def test_buckets_without_le_are_no_latency_not_a_number(prom: FakePrometheus, poll: Poll) -> None:
    """A bucket answer of the old rate shape (one value per version, no `le`) is not a
    histogram: the latency is NO DATA while the error rate still reads."""
    prom._answers = []
    prom.answer('response_code=~"5.."', {"destination_version": "v1"}, 5.0)
    prom.answer("_bucket", {"destination_version": "v1"}, 175.0)
    prom.answer("istio_requests_total", {"destination_version": "v1"}, 500.0)
    snap, status = poll(prom.url)
    assert status.state == SourceState.OK
    latest = snap.latest
    assert latest is not None
    assert latest.baseline.value(0) == pytest.approx(0.01)
    assert latest.baseline.value(1) is None and latest.baseline.bad_of(1) is None


def test_an_old_answer_is_stale_with_its_age(prom: FakePrometheus) -> None:
    # A caching proxy hands back a result evaluated 90 s ago (interval 5 s).
    now = 2_000_000_000.0
    result = [
        {"metric": {"destination_version": v}, "value": [now - 90, "50"]} for v in ("v1", "v2")
    ]
    body = {"status": "success", "data": {"resultType": "vector", "result": result}}
    _raw(prom, 200, json.dumps(body).encode())
    rollout = _rollout()
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=prom.url), rollout, clock=lambda: now
    )
    snap = assemble(rollout, router=StaticRouter(), metrics=source, clock=lambda: now).cycle()
    status = snap.source("metrics")
    assert status is not None and status.state == SourceState.STALE
    assert status.age_s == pytest.approx(90.0)
    assert "data 90s old" in status.message
    _assert_gap(snap)


# --- a slow, trickling, huge or silent Prometheus never holds a poll -----------------------------

SLOW_S = 0.5
"""The timeout of the polls against a slow server."""
BIG_S = 10.0
"""The timeout against a huge one: long enough that the size cap, not the clock, stops it."""


@pytest.mark.parametrize(
    ("fault", "timeout_s", "error", "says"),
    [
        (Fault.TRICKLE, SLOW_S, BackendUnavailableError, "did not finish its answer"),
        (Fault.TRICKLE_HEADERS, SLOW_S, BackendUnavailableError, "did not answer within 0.5 s"),
        (Fault.SLOW, SLOW_S, BackendUnavailableError, "did not answer within 0.5 s"),
        (Fault.SILENT, SLOW_S, BackendUnavailableError, "did not answer within 0.5 s"),
        (Fault.HUGE, BIG_S, SourceError, "sent an answer larger than 32 MB (announced 60 MB)"),
        (Fault.HUGE_CHUNKED, BIG_S, SourceError, "sent an answer larger than 32 MB"),
        (Fault.ENDLESS, BIG_S, SourceError, "sent an answer larger than 32 MB"),
        (Fault.HTML, SLOW_S, BackendUnavailableError, "failed (HTTP 502): 502 Bad Gateway"),
        (Fault.DROP, SLOW_S, BackendUnavailableError, "closed the connection without answering"),
    ],
)
def test_a_bad_server_never_holds_a_poll_past_its_timeout(
    prom: FakePrometheus, fault: Fault, timeout_s: float, error: type[MonotuiError], says: str
) -> None:
    """A trickle would take a quarter of a minute and an endless body forever: the poll ends at
    its deadline or the size cap (the three queries run at once, each bounded) with a typed
    one-line error. The time bound is a sanity bound, far from the fault's own duration;
    bench/ measures."""
    prom.fault = fault
    prom.trickle_s = 0.2  # a whole answer would take ~14 s at this pace
    rollout = _rollout()
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=prom.url, timeout_s=timeout_s), rollout
    )
    started = time.monotonic()
    with pytest.raises(error) as caught:
        source.fetch(None)
    assert time.monotonic() - started < 3 * timeout_s + 1
    assert says in str(caught.value)
    _one_clean_line(str(caught.value))
    assert caught.value.exit_code == 5  # backend unreachable or unusable

    started = time.monotonic()
    snap = assemble(rollout, router=StaticRouter(), metrics=source).cycle()
    assert time.monotonic() - started < 3 * timeout_s + 1
    status = snap.source("metrics")
    assert status is not None and status.state == SourceState.ERROR
    assert says in status.message
    _assert_gap(snap)
    source.close()


def test_check_config_fails_with_the_same_typed_errors(prom: FakePrometheus) -> None:
    _raw(prom, 401, b"token expired", "text/plain")
    source = PrometheusMetrics(PrometheusConfig(scrape_interval_s=STEP_S, url=prom.url), _rollout())
    with pytest.raises(
        PermissionDeniedError, match="HTTP 401.: token expired: check the token"
    ) as caught:
        source.check()
    assert caught.value.exit_code == 4  # permission denied
    down = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=f"http://127.0.0.1:{free_port()}"),
        _rollout(),
    )
    with pytest.raises(BackendUnavailableError, match="cannot reach Prometheus"):
        down.check()
    source.close()
    down.close()


# --- the real server, killed and restarted ---------------------------------------------------


def test_killed_prometheus_is_stale_then_error_then_recovers(
    prometheus: PrometheusServer,  # noqa: F811
) -> None:
    prometheus.backfill(history_openmetrics())
    prometheus.start()
    rollout = _rollout()
    at = T0 + 200
    clock = Clock(at)  # the data's time and the rollout's move together
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=prometheus.url, timeout_s=2), rollout
    )
    source.clock = clock
    controller = assemble(rollout, router=StaticRouter(), metrics=source, clock=clock)

    first = controller.cycle().source("metrics")
    assert first is not None and first.state == SourceState.OK

    prometheus.kill()
    clock.now += rollout.interval_s
    stale = controller.cycle()
    status = stale.source("metrics")
    assert status is not None and status.state == SourceState.STALE
    assert status.age_s == pytest.approx(rollout.interval_s)
    assert "cannot reach Prometheus" in status.message
    _assert_gap(stale)

    clock.now += 2 * rollout.interval_s
    error = controller.cycle().source("metrics")
    assert error is not None and error.state == SourceState.ERROR
    assert error.age_s == pytest.approx(3 * rollout.interval_s)

    prometheus.start()
    clock.now += rollout.interval_s
    back = controller.cycle()
    recovered = back.source("metrics")
    assert recovered is not None and recovered.state == SourceState.OK
    latest = back.latest
    assert latest is not None
    # The outage cost nothing: the first poll back counts the whole time since the last one.
    assert latest.span_s == pytest.approx(4 * rollout.interval_s)
    assert latest.baseline.requests == pytest.approx(10.0 * 4 * rollout.interval_s, rel=1e-6)
    assert back.current("error_rate").canary == pytest.approx(0.10, abs=1e-3)
    assert any("metrics: cannot reach Prometheus" in e.text for e in back.events)
    controller.close()
