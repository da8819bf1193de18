"""Every way the Prometheus path fails is visible in the snapshot and harmless.

A local HTTP server plays a broken Prometheus (500, garbage, truncated, slow, stale, `status: error`);
the real server is killed mid-run and restarted. Each test asserts what the user sees: the
`metrics` source's state and message, and values that are gaps, never zeros.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.errors import BackendUnavailableError, SourceError
from monotui.model import Snapshot, SourceState, SourceStatus
from monotui.rollout import assemble
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.prometheus_server import PrometheusServer, free_port, prometheus  # noqa: F401
from tests.test_prometheus_backfill import T0, history_openmetrics

Reply = Callable[[BaseHTTPRequestHandler], None]


class FakePrometheus:
    """A loopback HTTP server whose every answer is `reply`; counts requests."""

    def __init__(self) -> None:
        self.reply: Reply = lambda h: _send(h, 200, b"{}")
        self.requests = 0
        self.lock = threading.Lock()
        self.release = threading.Event()  # frees a slow handler at teardown
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with fake.lock:
                    fake.requests += 1
                fake.reply(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _send(
    handler: BaseHTTPRequestHandler, code: int, body: bytes, length: int | None = None
) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    try:
        yield server
    finally:
        server.close()


def _rollout() -> RolloutConfig:
    data = {"name": "reviews", "namespace": "bookinfo", "router": {"kind": "none"}}
    return parse({"rollouts": [data]}).rollouts[0]


class Clock:
    """The controller's clock, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _poll(url: str, timeout_s: float = 2.0) -> tuple[Snapshot, SourceStatus]:
    rollout = _rollout()
    source = PrometheusMetrics(PrometheusConfig(url=url, timeout_s=timeout_s), rollout)
    snap = assemble(rollout, router=StaticRouter(), metrics=source).cycle()
    status = snap.source("metrics")
    assert status is not None
    return snap, status


def _assert_gap(snap: Snapshot) -> None:
    latest = snap.latest
    assert latest is not None
    assert latest.error_rate.canary is None and latest.error_rate.baseline is None
    assert snap.observed_split is None
    assert snap.verdict.result.value == "NODATA"  # never healthy


def test_http_500_is_an_error_with_the_body(fake: FakePrometheus) -> None:
    fake.reply = lambda h: _send(h, 500, b"upstream exploded")
    snap, status = _poll(fake.url)
    assert status.state == SourceState.ERROR
    assert "HTTP 500: upstream exploded" in status.message
    assert fake.requests == 3  # one per metric: no silent retries holding the poll
    _assert_gap(snap)


def test_garbage_json_is_an_error(fake: FakePrometheus) -> None:
    fake.reply = lambda h: _send(h, 200, b"<html><body>login required</body></html>")
    snap, status = _poll(fake.url)
    assert status.state == SourceState.ERROR
    assert "not JSON" in status.message and "login required" in status.message
    _assert_gap(snap)


def test_json_that_is_not_a_query_result_is_an_error(fake: FakePrometheus) -> None:
    fake.reply = lambda h: _send(h, 200, b'{"status":"success","data":{"result":"oops"}}')
    snap, status = _poll(fake.url)
    assert status.state == SourceState.ERROR
    assert "is [prometheus] url a Prometheus API?" in status.message
    _assert_gap(snap)


def test_truncated_body_is_an_error(fake: FakePrometheus) -> None:
    body = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":'

    def reply(h: BaseHTTPRequestHandler) -> None:
        _send(h, 200, body, length=len(body) + 500)  # promises more than it sends, then hangs up
        h.close_connection = True

    fake.reply = reply
    snap, status = _poll(fake.url)
    assert status.state == SourceState.ERROR
    assert "cut the error-rate query's answer short" in status.message
    _assert_gap(snap)


def test_slower_than_the_timeout_is_an_error(fake: FakePrometheus) -> None:
    def reply(h: BaseHTTPRequestHandler) -> None:
        fake.release.wait(10)  # longer than the timeout; released at teardown

    fake.reply = reply
    snap, status = _poll(fake.url, timeout_s=0.3)
    assert status.state == SourceState.ERROR
    assert "did not answer the error-rate query within 0.3s" in status.message
    _assert_gap(snap)


def test_status_error_in_a_200_reaches_the_user(fake: FakePrometheus) -> None:
    error = {"status": "error", "errorType": "execution", "error": "query too expensive\x1b[31m"}
    fake.reply = lambda h: _send(h, 200, json.dumps(error).encode())
    snap, status = _poll(fake.url)
    assert status.state == SourceState.ERROR
    assert "Prometheus rejected the error-rate query: execution: query too expensive" in (
        status.message
    )
    assert "\x1b" not in status.message  # outside text never drives the terminal
    _assert_gap(snap)


def test_unreachable_is_an_error_that_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    snap, status = _poll(url)
    assert status.state == SourceState.ERROR
    assert f"cannot reach Prometheus at {url} (connection refused)" in status.message
    _assert_gap(snap)


def test_an_old_answer_is_stale_with_its_age(fake: FakePrometheus) -> None:
    # A caching proxy hands back a result evaluated 90 s ago (interval 5 s).
    now = 2_000_000_000.0

    def reply(h: BaseHTTPRequestHandler) -> None:
        old = now - 90
        result = [
            {"metric": {"destination_version": v}, "value": [old, "0.5"]} for v in ("v1", "v2")
        ]
        _send(h, 200, json.dumps({"status": "success", "data": {"result": result}}).encode())

    fake.reply = reply
    rollout = _rollout()
    source = PrometheusMetrics(PrometheusConfig(url=fake.url), rollout, clock=lambda: now)
    snap = assemble(rollout, router=StaticRouter(), metrics=source, clock=lambda: now).cycle()
    status = snap.source("metrics")
    assert status is not None and status.state == SourceState.STALE
    assert status.age_s == pytest.approx(90.0)
    assert "data 90s old" in status.message
    _assert_gap(snap)


def test_killed_prometheus_is_stale_then_error_then_recovers(
    prometheus: PrometheusServer,  # noqa: F811
) -> None:
    prometheus.backfill(history_openmetrics())
    prometheus.start()
    rollout = _rollout()
    at = T0 + 200
    clock = Clock(at)
    source = PrometheusMetrics(PrometheusConfig(url=prometheus.url, timeout_s=2), rollout)
    source.clock = lambda: at  # the data's time stays fixed; the controller's clock moves
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
    assert back.latest is not None
    assert back.latest.error_rate.canary == pytest.approx(0.10, abs=1e-3)
    assert any("metrics: cannot reach Prometheus" in e.text for e in back.events)


def test_check_config_fails_with_the_same_typed_errors(fake: FakePrometheus) -> None:
    fake.reply = lambda h: _send(h, 401, b"token expired")
    source = PrometheusMetrics(PrometheusConfig(url=fake.url), _rollout())
    with pytest.raises(SourceError, match="HTTP 401: token expired .check the token"):
        source.check()
    down = PrometheusMetrics(PrometheusConfig(url=f"http://127.0.0.1:{free_port()}"), _rollout())
    with pytest.raises(BackendUnavailableError, match="cannot reach Prometheus"):
        down.check()
