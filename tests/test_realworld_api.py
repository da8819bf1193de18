"""The Prometheus API's answers a user can meet beyond a vector or a matrix: the real Prometheus
answering an override that gives a scalar or a range vector, and an authenticating proxy in front
of it that answers a refused token with Prometheus' own error JSON, the token in its words.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.errors import SourceError
from monotui.sources.metrics_prometheus import PrometheusMetrics
from tests.configs import parse
from tests.prometheus_server import PrometheusServer, prometheus  # noqa: F401

TOKEN = "eyJhbGciOiJSUzI1NiJ9.sa-token-7c1f"


def rollout(**metrics: object) -> RolloutConfig:
    data = {"name": "reviews", "namespace": "bookinfo", "router": {"kind": "none"}}
    return parse({"rollouts": [data | {"metrics": {"kind": "prometheus", **metrics}}]}).rollouts[0]


def fetch(prom: PrometheusConfig, config: RolloutConfig) -> None:
    source = PrometheusMetrics(prom, config, clock=time.time)
    try:
        source.fetch(None)
    finally:
        source.close()


@pytest.mark.parametrize(
    ("override", "got"),
    [
        (
            "scalar(sum by ($version_label) (rate(istio_requests_total{$filter}[$window])))",
            "scalar",
        ),
        ("sum by ($version_label) (rate(istio_requests_total{$filter}[$window]))[5m:1m]", "matrix"),
    ],
)
def test_an_override_of_another_result_type_says_so(
    prometheus: PrometheusServer,  # noqa: F811
    override: str,
    got: str,
) -> None:
    prometheus.start()
    prom = PrometheusConfig(url=prometheus.url, scrape_interval_s=5)
    with pytest.raises(SourceError) as caught:
        fetch(prom, rollout(error_rate_query=override))
    said = str(caught.value)
    # The API answered as the API does: the query is what to fix, not the url.
    assert f"errors query with a {got}, not a vector" in said
    assert "check the query" in said
    assert "is [prometheus] url" not in said


class EchoingProxy:
    """An authenticating proxy on loopback that refuses every token with Prometheus' error JSON,
    naming the token it refused (as some gateways do)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                sent = self.headers.get("Authorization", "none").split(" ")[-1]
                said = {"status": "error", "errorType": "unauthorized",
                        "error": f"token {sent} is expired (see https://u:{sent}@sso.example/)"}  # fmt: skip
                body = json.dumps(said).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy() -> Iterator[EchoingProxy]:
    server = EchoingProxy()
    yield server
    server.close()


@pytest.mark.parametrize("how", ["bearer_token_file", "headers"])
def test_a_token_the_proxy_echoes_is_never_shown(
    proxy: EchoingProxy, tmp_path: Path, how: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    auth: dict[str, object] = (
        {"bearer_token_file": token_file}
        if how == "bearer_token_file"
        else {"headers": {"Authorization": f"Bearer {TOKEN}"}}
    )
    prom = PrometheusConfig(url=proxy.url, scrape_interval_s=5, **auth)
    with pytest.raises(SourceError) as caught:
        fetch(prom, rollout())
    said = str(caught.value)
    assert "rejected the requests query: unauthorized: token *** is expired" in said
    assert TOKEN not in said and "sa-token" not in said


def test_a_prometheus_under_a_route_prefix_reads_there_and_says_so_without_it(
    tmp_path: Path,
) -> None:
    server = PrometheusServer(tmp_path / "prometheus", route_prefix="/prometheus")
    server.start()
    try:
        at = time.time()
        prefixed = PrometheusConfig(url=server.url, scrape_interval_s=5)
        source = PrometheusMetrics(prefixed, rollout(), clock=lambda: at)
        sample = source.fetch(None)
        source.close()
        assert not sample.has_data  # it answered (no series yet): NO DATA, not an error
        bare = server.url.removesuffix("/prometheus")
        with pytest.raises(SourceError) as caught:
            fetch(PrometheusConfig(url=bare, scrape_interval_s=5), rollout())
    finally:
        server.kill()
    said = str(caught.value)
    assert "has no /api/v1/query (HTTP 404, sending the requests query)" in said
    assert "with the server's route prefix" in said
