"""The service proxy, reached as monotui reaches Prometheus: ApiClient.call_api and kubectl."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from tests.fakekube import FakeKube
from tests.fakekube.kubectl import kubectl
from tests.prometheus_server import PrometheusServer, free_port, prometheus  # noqa: F401

NS = "istio-system"
PROXY = f"/api/v1/namespaces/{NS}/services/prometheus:9090/proxy"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Backend:
    """A real HTTP server on loopback that says what it was sent."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def backend() -> Iterator[Backend]:
    server: ThreadingHTTPServer
    state = Backend("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            if self.path.startswith("/stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"6\r\nfirst\n\r\n")
                state.release.wait(10)  # the test reads "first" before letting "second" go
                self.wfile.write(b"7\r\nsecond\n\r\n0\r\n\r\n")
                return
            code = 404 if self.path.startswith("/missing") else 200
            data = json.dumps({"method": self.command, "path": self.path}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Backend", "echo")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


def call(
    api_client: client.ApiClient,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> client.rest.RESTResponse:
    """A request through the API server with the kubeconfig's credentials, not raising."""
    request = api_client.param_serialize(
        method,
        path,
        query_params=query,
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    return api_client.call_api(*request, _request_timeout=10)


def status_message(answer: client.rest.RESTResponse) -> str:
    message: str = json.loads(answer.read())["message"]
    return message


def test_a_get_reaches_the_backend_with_path_query_and_headers_but_no_token(
    fake_api_client: client.ApiClient, fake_kube: FakeKube, backend: Backend
) -> None:
    fake_kube.put_service(NS, "prometheus", [9090], backend=backend.url)
    answer = call(
        fake_api_client,
        "GET",
        f"{PROXY}/api/v1/query",
        query=[("query", 'sum(rate(x{a="b"}[1m]))')],
        headers={"Accept": "application/json"},
    )
    assert answer.status == 200
    assert answer.getheader("X-Backend") == "echo"
    assert json.loads(answer.read()) == {
        "method": "GET",
        "path": "/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%29",
    }
    seen = backend.seen[-1]
    assert "Authorization" not in seen.headers  # the apiserver keeps the credentials
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["X-Forwarded-Uri"] == f"{PROXY}/api/v1/query"
    record = fake_kube.requests[-1]
    assert (record.verb, record.resource) == ("get", "services/proxy")


def test_method_body_and_backend_status_pass_through(
    fake_api_client: client.ApiClient, fake_kube: FakeKube, backend: Backend
) -> None:
    fake_kube.put_service(NS, "prometheus", [9090], backend=backend.url)
    answer = call(
        fake_api_client,
        "POST",
        f"{PROXY}/api/v1/query",
        body={"query": "up"},
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200
    assert (backend.seen[-1].method, json.loads(backend.seen[-1].body)) == ("POST", {"query": "up"})
    missing = call(fake_api_client, "GET", f"{PROXY}/missing/page")
    assert missing.status == 404  # the backend's 404, not a Status of the API server
    assert json.loads(missing.read()) == {"method": "GET", "path": "/missing/page"}


@pytest.mark.parametrize(
    "service_id",
    ["prometheus", "prometheus:9090", "http:prometheus:9090", "prometheus:"],
)
def test_the_forms_of_a_single_unnamed_port(
    fake_api_client: client.ApiClient, fake_kube: FakeKube, backend: Backend, service_id: str
) -> None:
    fake_kube.put_service(NS, "prometheus", [9090], backend=backend.url)
    answer = call(
        fake_api_client, "GET", f"/api/v1/namespaces/{NS}/services/{service_id}/proxy/-/ready"
    )
    assert answer.status == 200, answer.read()
    assert backend.seen[-1].path == "/-/ready"


def test_a_named_port_by_name_or_number_and_the_port_a_backend_serves(
    fake_api_client: client.ApiClient, fake_kube: FakeKube, backend: Backend
) -> None:
    ports = [{"name": "web", "port": 9090}, {"name": "grpc", "port": 10901}]
    fake_kube.put_service("monitoring", "prometheus-k8s", ports)
    fake_kube.proxy_backend("monitoring", "prometheus-k8s", backend.url, port="web")
    base = "/api/v1/namespaces/monitoring/services"
    for service_id in ("prometheus-k8s:web", "prometheus-k8s:9090"):
        assert call(fake_api_client, "GET", f"{base}/{service_id}/proxy/").status == 200
    grpc = call(fake_api_client, "GET", f"{base}/prometheus-k8s:grpc/proxy/")
    assert grpc.status == 503
    assert status_message(grpc) == 'no endpoints available for service "prometheus-k8s:grpc"'
    unnamed = call(fake_api_client, "GET", f"{base}/prometheus-k8s/proxy/")
    assert unnamed.status == 503  # both ports are named: no port is ""


def test_what_the_api_server_answers_when_it_cannot_proxy(
    fake_api_client: client.ApiClient, fake_kube: FakeKube
) -> None:
    missing = call(fake_api_client, "GET", f"{PROXY}/api/v1/query")
    assert missing.status == 404 and status_message(missing) == 'services "prometheus" not found'
    by_name = call(fake_api_client, "GET", f"/api/v1/namespaces/{NS}/services/prometheus/proxy/")
    assert status_message(by_name) == 'endpoints "prometheus" not found'

    fake_kube.put_service(NS, "prometheus", [9090])
    no_backend = call(fake_api_client, "GET", f"{PROXY}/api/v1/query")
    assert no_backend.status == 503
    assert json.loads(no_backend.read()) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'no endpoints available for service "prometheus"',
        "reason": "ServiceUnavailable",
        "details": {},
        "code": 503,
    }
    wrong_port = call(
        fake_api_client, "GET", f"/api/v1/namespaces/{NS}/services/prometheus:80/proxy/"
    )
    assert status_message(wrong_port) == 'no service port 80 found for service "prometheus"'

    port = free_port()  # nobody listens there
    fake_kube.proxy_backend(NS, "prometheus", f"http://127.0.0.1:{port}")
    down = call(fake_api_client, "GET", f"{PROXY}/api/v1/query")
    assert down.status == 503
    assert status_message(down) == (
        f"error trying to reach service: dial tcp 127.0.0.1:{port}: connect: connection refused"
    )


def test_rbac_guards_the_proxy_as_get_on_services_proxy(
    fake_api_client: client.ApiClient, fake_kube: FakeKube, backend: Backend
) -> None:
    fake_kube.put_service(NS, "prometheus", [9090], backend=backend.url)
    fake_kube.deny("get", "services/proxy", NS)
    denied = call(fake_api_client, "GET", f"{PROXY}/api/v1/query")
    assert denied.status == 403
    assert status_message(denied) == (
        'services "prometheus:9090" is forbidden: User "alice" cannot get resource '
        '"services/proxy" in API group "" in the namespace "istio-system"'
    )
    assert backend.seen == []
    # reading the Service itself is another permission
    assert client.CoreV1Api(fake_api_client).read_namespaced_service("prometheus", NS)


def test_an_empty_proxy_path_redirects_to_the_root(fake_kube: FakeKube, backend: Backend) -> None:
    fake_kube.put_service(NS, "prometheus", [9090], backend=backend.url)
    answer = httpx.get(f"{fake_kube.url}{PROXY}?x=1", follow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"{PROXY}/?x=1"


def test_the_answer_streams_as_the_backend_sends_it(
    fake_api_client: client.ApiClient, fake_kube: FakeKube, backend: Backend
) -> None:
    fake_kube.put_service(NS, "prometheus", [9090], backend=backend.url)
    request = fake_api_client.param_serialize(
        "GET", f"{PROXY}/stream", auth_settings=["BearerToken"]
    )
    answer = fake_api_client.call_api(*request, _request_timeout=10)
    assert answer.status == 200
    chunks = answer.response.stream(64)
    assert next(chunks) == b"first\n"  # while the backend still holds "second"
    backend.release.set()
    assert b"".join(chunks) == b"second\n"


def test_a_real_prometheus_behind_the_proxy(
    fake_api_client: client.ApiClient,
    fake_kube: FakeKube,
    fake_kubeconfig: Path,
    prometheus: PrometheusServer,  # noqa: F811
) -> None:
    prometheus.start()
    fake_kube.put_service(NS, "prometheus", [9090], backend=prometheus.url)
    answer = call(fake_api_client, "GET", f"{PROXY}/api/v1/query", query=[("query", "vector(42)")])
    assert answer.status == 200
    body = json.loads(answer.read())
    assert body["status"] == "success" and body["data"]["result"][0]["value"][1] == "42"

    done = kubectl(fake_kubeconfig, "get", "--raw", f"{PROXY}/api/v1/query?query=vector(7)")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["result"][0]["value"][1] == "7"
    bad = kubectl(fake_kubeconfig, "get", "--raw", f"{PROXY}/api/v1/query?query=sum(")
    # Prometheus' 400 is no Status: kubectl says only what the code means, as on a real cluster
    assert bad.returncode == 1 and bad.stderr.startswith("Error from server (BadRequest)")


def test_the_typed_proxy_call_of_the_client_escapes_and_still_arrives(
    fake_api_client: client.ApiClient, fake_kube: FakeKube, backend: Backend
) -> None:
    fake_kube.put_service(NS, "prometheus", [9090], backend=backend.url)
    core = client.CoreV1Api(fake_api_client)
    answer = core.connect_get_namespaced_service_proxy_with_path(
        "prometheus:9090", NS, "api/v1/status/buildinfo"
    )
    assert "buildinfo" in answer
    assert fake_kube.requests[-1].path.endswith(
        "prometheus%3A9090/proxy/api%2Fv1%2Fstatus%2Fbuildinfo"
    )
    assert backend.seen[-1].path == "/api/v1/status/buildinfo"  # unescaped, as Go's URL.Path
