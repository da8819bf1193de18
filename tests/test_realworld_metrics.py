"""Istio's standard metrics and Prometheus's API answers as they really look, re-created with our values.

Two halves. (1) The real Prometheus, backfilled with Istio-shaped series: both reporters (the
source sidecar sees the same requests, plus the 503s it made up itself), two pods per version,
response codes as strings ("0" for a client that went away, 404, 503, 504), a "unknown" version,
Istio's default duration buckets (0.5 ms .. 1 h). (2) A loopback server answering real-shaped API
JSON to the count queries a poll sends (requests, 5xx, buckets): extra keys (warnings, infos,
stats), "NaN"/"+Inf"/"1e-05" values, matrices with gaps, the error bodies Prometheus sends (422
execution, 503 while starting).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.errors import BackendUnavailableError, SourceError
from monotui.model import Pair, SourceState
from monotui.rollout import assemble
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.prometheus_server import PrometheusServer, prometheus  # noqa: F401

STEP_S = 5
SPAN_S = 300
T0 = float(int(time.time() - 2 * 3600) // 60 * 60)
# Istio's default buckets for istio_request_duration_milliseconds.
ISTIO_LE: tuple[float, ...] = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
ISTIO_LE += (30000, 60000, 300000, 600000, 1800000, 3600000)
# Requests/s at or under each bound, for the whole version (split over its pods).
V1_LE = dict(zip(ISTIO_LE, (0, 0, 1, 3, 6, 8, 9.5, 9.95) + (10.0,) * 11, strict=True))
V2_LE = dict(zip(ISTIO_LE, (0, 0, 0, 0.2, 0.6, 1, 1.4, 1.8, 1.9, 1.96) + (2.0,) * 9, strict=True))
# p99 by linear interpolation in the bucket holding rank 0.99 * total:
V1_P99 = 100 + 150 * (9.9 - 9.5) / (9.95 - 9.5)  # 233.3 ms
V2_P99 = 1000 + 1500 * (1.98 - 1.96) / (2.0 - 1.96)  # 1750 ms

# (version, pods, {response_code: req/s per pod}) as the destination sidecar reports it.
TRAFFIC = (
    ("v1", ("reviews-v1-7d9f-abcde", "reviews-v1-7d9f-fghij"),
     {"200": 4.6, "404": 0.25, "0": 0.1, "503": 0.04, "504": 0.01}),  # 1 % 5xx of 10 req/s
    ("v2", ("reviews-v2-5c4b-klmno",), {"200": 1.5, "404": 0.1, "503": 0.3, "504": 0.1}),  # 20 %
    ("unknown", ("reviews-legacy-0",), {"500": 3.0}),  # no version label on the pod: not ours
)  # fmt: skip


def _series(name: str, labels: dict[str, str], per_s: float) -> list[str]:
    out = []
    for i in range(SPAN_S // STEP_S + 1):
        text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        out.append(f"{name}{{{text}}} {1000.0 + i * STEP_S * per_s} {T0 + i * STEP_S:.0f}")
    return out


def _labels(reporter: str, version: str, pod: str, **extra: str) -> dict[str, str]:
    return {
        "reporter": reporter,
        "source_workload": "productpage-v1",
        "source_canonical_service": "productpage",
        "destination_workload": f"reviews-{version}",
        "destination_service": "reviews.bookinfo.svc.cluster.local",
        "destination_service_name": "reviews",
        "destination_service_namespace": "bookinfo",
        "destination_version": version,
        "destination_canonical_revision": version,
        "request_protocol": "http",
        "connection_security_policy": "mutual_tls" if reporter == "destination" else "unknown",
        "pod": pod if reporter == "destination" else "productpage-v1-6b74-pqrst",
        **extra,
    }


def istio_openmetrics() -> str:
    lines = ["# TYPE istio_requests counter"]
    for version, pods, codes in TRAFFIC:
        for pod in pods:
            for code, rate in codes.items():
                flags = {"0": "DC"}.get(code, "-")
                labels = _labels("destination", version, pod, response_code=code,
                                 response_flags=flags, grpc_response_status="")  # fmt: skip
                lines += _series("istio_requests_total", labels, rate)
        for code, rate in codes.items():  # the caller's sidecar sees all pods as one series
            labels = _labels("source", version, "", response_code=code,
                             response_flags={"0": "DC"}.get(code, "-"), grpc_response_status="")  # fmt: skip
            lines += _series("istio_requests_total", labels, rate * len(pods))
        if version == "v2":  # the caller's sidecar found no healthy upstream: source-only 503s
            labels = _labels("source", version, "", response_code="503", response_flags="UH")
            lines += _series("istio_requests_total", labels, 0.5)
    lines.append("# TYPE istio_request_duration_milliseconds histogram")
    for version, pods, _ in TRAFFIC[:2]:
        cumulative = V1_LE if version == "v1" else V2_LE
        total = cumulative[3600000]
        for reporter, pod_names, slower in (("destination", pods, 1.0), ("source", ("",), 0.0)):
            for pod in pod_names:
                for le in (*ISTIO_LE, "+Inf"):
                    # the source side measures the network too: everything lands in higher buckets
                    rate = total if le == "+Inf" else cumulative[le] * slower  # type: ignore[index]
                    labels = _labels(reporter, version, pod, le=str(le))
                    lines += _series(
                        "istio_request_duration_milliseconds_bucket", labels, rate / len(pod_names)
                    )
    return "\n".join(lines) + "\n# EOF\n"


def rollout(**metrics: object) -> RolloutConfig:
    data = {"name": "reviews", "namespace": "bookinfo", "router": {"kind": "none"}}
    return parse({"rollouts": [data | {"metrics": {"kind": "prometheus", **metrics}}]}).rollouts[0]


@pytest.fixture
def istio(prometheus: PrometheusServer) -> PrometheusServer:  # noqa: F811
    prometheus.backfill(istio_openmetrics())
    prometheus.start()
    return prometheus


def test_istio_series_give_the_destination_side_numbers(istio: PrometheusServer) -> None:
    at = T0 + 200
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=istio.url), rollout(), clock=lambda: at
    )
    snap = assemble(rollout(), router=StaticRouter(), metrics=source, clock=lambda: at).cycle()
    status = snap.source("metrics")
    assert status is not None and status.state == SourceState.OK, status
    s = snap.latest
    span = 2 * STEP_S  # a first poll counts two scrapes
    assert s is not None and s.span_s == span
    # two pods summed; 404 and "0" are not errors; the source reporter is not counted twice
    assert s.baseline.requests == pytest.approx(10.0 * span, rel=1e-6)
    assert s.canary.requests == pytest.approx(2.0 * span, rel=1e-6)
    assert s.baseline.bad_of(0) == pytest.approx(0.1 * span, rel=1e-6)  # 503 and 504, two pods
    assert s.canary.bad_of(0) == pytest.approx(0.4 * span, rel=1e-6)  # not the UH 503s
    assert snap.current("error_rate").baseline == pytest.approx(0.01, abs=1e-6)
    assert snap.current("error_rate").canary == pytest.approx(0.20, abs=1e-6)
    assert snap.current("latency_p99_ms").baseline == pytest.approx(V1_P99, abs=1e-3)
    assert snap.current("latency_p99_ms").canary == pytest.approx(V2_P99, abs=1e-3)
    assert snap.request_rate.canary == pytest.approx(2.0, abs=1e-6)
    assert snap.observed_split is not None
    assert snap.observed_split.canary == pytest.approx(100 * 2 / 12, abs=1e-3)
    source.close()


def test_istio_history_over_the_real_series(istio: PrometheusServer) -> None:
    at = T0 + SPAN_S
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=istio.url), rollout(), clock=lambda: at
    )
    samples = source.history(200, 20)
    settled = [s for s in samples if s.t - s.span_s >= T0]
    assert len(settled) >= 10
    assert all(s.span_s == pytest.approx(10.0) for s in settled)
    assert all(s.canary.requests == pytest.approx(20.0, rel=1e-6) for s in settled)
    assert all(s.canary.bad_of(0) == pytest.approx(4.0, rel=1e-6) for s in settled)
    assert all(s.canary.value(0) == pytest.approx(0.20, abs=1e-6) for s in settled)
    assert all(s.canary.value(1) == pytest.approx(V2_P99, abs=1e-3) for s in settled)
    # slow_ms was not configured: history derived it from the baseline's p99 bucket (250 ms),
    # so the canary's requests above it are its slow ones (2 - 1.8 req/s over 10 s).
    assert source.slow_ms == 250.0
    assert all(s.canary.bad_of(1) == pytest.approx(2.0, rel=1e-6) for s in settled)
    source.close()


def test_an_extra_selector_narrows_to_one_caller(istio: PrometheusServer) -> None:
    at = T0 + 200
    config = rollout(selector='source_workload="nobody"')
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=istio.url), config, clock=lambda: at
    )
    sample = source.fetch(None)
    assert not sample.has_data  # NO DATA, not zero
    assert sample.baseline.requests is None and sample.canary.bad_of(0) is None
    source.close()


# --- the API's JSON, as a loopback server ----------------------------------------------------

Reply = Callable[[BaseHTTPRequestHandler], None]


class ReplyServer:
    """A loopback HTTP server whose every answer is `reply(handler)`: the exact JSON a test
    writes, per query."""

    def __init__(self) -> None:
        self.reply: Reply = lambda h: _send(h, 200, b"{}")
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.reply(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _send(handler: BaseHTTPRequestHandler, code: int, body: bytes) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


@pytest.fixture
def fake() -> Iterator[ReplyServer]:
    server = ReplyServer()
    yield server
    server.close()


def count_of(query: str) -> str:
    """Which of a poll's count queries `query` is."""
    if "_bucket" in query:
        return "buckets"
    return "errors" if "5.." in query else "requests"


def answer(results: dict[str, list[dict[str, Any]]], kind: str = "vector", **extra: Any) -> Reply:
    """A reply that answers each count query with `results[count]`."""

    def reply(h: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlparse(h.path).query)
        body = {"status": "success", "data": {"resultType": kind,
                "result": results[count_of(query["query"][0])]}, **extra}  # fmt: skip
        _send(h, 200, json.dumps(body).encode())

    return reply


def vec(version: str, value: str, at: float | None = None, **labels: str) -> dict[str, Any]:
    stamp = time.time() if at is None else at
    return {"metric": {"destination_version": version, **labels}, "value": [stamp, value]}


def fetch(url: str, at: float | None = None) -> Any:
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=url),
        rollout(),
        clock=None if at is None else (lambda: at),
    )
    try:
        return source.fetch(None)
    finally:
        source.close()


def test_extra_fields_and_odd_numbers_in_a_vector(fake: ReplyServer) -> None:
    fake.reply = answer(
        {
            "requests": [vec("v2", "30"), vec("v1", "1000.0000000000002")],
            "errors": [vec("v1", "1e-02"), vec("v2", "10.000000000000002"), vec("unknown", "9")],
            "buckets": [
                vec("v1", "+Inf", le="+Inf"),
                vec("v1", "3", le="100"),
                vec("v2", "NaN", le="+Inf"),
            ],
        },  # fmt: skip
        warnings=["PromQL warning: encountered a mix of histograms and floats"],
        infos=["PromQL info: metric might not be a counter, name does not end in _total"],
        stats={"timings": {"evalTotalTime": 0.0001}},
    )
    sample = fetch(fake.url)
    assert sample.baseline.requests == pytest.approx(1000.0)
    assert sample.baseline.value(0) == pytest.approx(1e-05)
    assert sample.canary.value(0) == pytest.approx(1 / 3)
    # A +Inf or NaN bucket count is no histogram: NO DATA, never a p99 of 0 or of one bucket.
    assert sample.baseline.value(1) is None and sample.canary.value(1) is None


def test_an_empty_result_is_no_data_and_no_5xx_series_is_zero(fake: ReplyServer) -> None:
    fake.reply = answer({"errors": [], "buckets": [], "requests": [vec("v1", "4")]})
    sample = fetch(fake.url)
    assert sample.baseline.requests == 4.0 and sample.canary.requests is None
    assert sample.baseline.bad_of(0) == 0.0  # requests but no 5xx series: none happened
    assert sample.canary.bad_of(0) is None and sample.canary.value(0) is None  # NO DATA
    assert sample.baseline.value(1) is None and sample.canary.value(1) is None


def test_an_old_evaluation_from_a_lagging_store_is_stale(fake: ReplyServer) -> None:
    old = time.time() - 120
    fake.reply = answer({m: [vec("v1", "1", at=old), vec("v2", "1", at=old)]
                         for m in ("requests", "errors", "buckets")})  # fmt: skip
    rollout_cfg = rollout()
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=fake.url), rollout_cfg
    )
    snap = assemble(rollout_cfg, router=StaticRouter(), metrics=source).cycle()
    status = snap.source("metrics")
    assert status is not None and status.state == SourceState.STALE
    assert "s old" in status.message
    assert snap.current("error_rate") == Pair()  # not the old numbers
    source.close()


def test_a_matrix_with_nan_points_and_gaps(fake: ReplyServer) -> None:
    def reply(h: BaseHTTPRequestHandler) -> None:
        q = {k: v[0] for k, v in parse_qs(urlparse(h.path).query).items()}
        start, end, step = float(q["start"]), float(q["end"]), float(q["step"])
        grid = [start + k * step for k in range(int((end - start) / step) + 1)]
        count = count_of(q["query"])
        v1_value, v2_value = {"requests": ("100", "20"), "errors": ("1", "4")}.get(count, ("", ""))
        v1 = [[t, "NaN" if i == 2 else v1_value] for i, t in enumerate(grid)]
        v2 = [[t, v2_value] for i, t in enumerate(grid) if i != 3]  # a scrape gap
        rows = [{"metric": {"destination_version": "v1"}, "values": v1},
                {"metric": {"destination_version": "v2"}, "values": v2}]  # fmt: skip
        if count == "buckets":
            rows = []
        body = {"status": "success", "data": {"resultType": "matrix", "result": rows}}
        _send(h, 200, json.dumps(body).encode())

    fake.reply = reply
    at = float(int(time.time()))
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=fake.url), rollout(), clock=lambda: at
    )
    samples = source.history(60, 6)
    source.close()
    assert len(samples) == 6
    assert [s.baseline.requests for s in samples[:4]] == [100.0, 100.0, None, 100.0]
    assert [s.baseline.value(0) for s in samples[:4]] == [0.01, 0.01, None, 0.01]
    assert samples[3].canary.requests is None and samples[3].canary.value(0) is None
    assert samples[4].canary.value(0) == 0.2
    assert all(s.canary.value(1) is None for s in samples)


def test_prometheus_execution_error_reaches_the_user(fake: ReplyServer) -> None:
    body = {"status": "error", "errorType": "execution",
            "error": "query processing would load too many samples into memory in query execution"}  # fmt: skip
    fake.reply = lambda h: _send(h, 422, json.dumps(body).encode())
    with pytest.raises(SourceError, match="execution: query processing would load too many"):
        fetch(fake.url)


def test_a_prometheus_still_starting_is_unavailable(fake: ReplyServer) -> None:
    fake.reply = lambda h: _send(h, 503, b"Service Unavailable")
    with pytest.raises(BackendUnavailableError, match="HTTP 503.: Service Unavailable"):
        fetch(fake.url)
