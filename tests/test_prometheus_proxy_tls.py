"""The service proxy connection over TLS as kind and minikube clusters set it up: a private CA in
the kubeconfig and a client certificate instead of a token. A real TLS server on loopback that
requires a client certificate signed by that CA stands in for the API server."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from monotui.config import KubernetesConfig, PrometheusConfig
from monotui.errors import BackendUnavailableError
from monotui.sources.kube import connect
from monotui.sources.prometheus_proxy import PrometheusConnection, through_kubernetes

SERVICE = "istio-system/prometheus:9090"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by it."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt",
            "-days", "2", "-subj", "/CN=kubernetes-ca")  # fmt: skip
    for name, subject, ext in (
        ("server", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1"),
        ("client", "/CN=alice/O=oncall", "extendedKeyUsage=clientAuth"),
    ):
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("req", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr",
                "-subj", subject)  # fmt: skip
        openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt",
                "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/{name}.crt",
                "-days", "2", "-extfile", f"{d}/{name}.ext")  # fmt: skip
    return d


@pytest.fixture
def api_server(pki: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTPS server that requires a client certificate from the CA; it answers what it saw."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            peer = self.connection.getpeercert()
            subject = dict(x[0] for x in peer["subject"]) if peer else {}
            seen.append({"path": self.path, "client": subject.get("commonName")})
            body = json.dumps({"status": "success", "data": {"version": "2.45.3"}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "server.crt"), str(pki / "server.key"))
    context.verify_mode = ssl.CERT_REQUIRED
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def kubeconfig(path: Path, server: str, pki: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "kind",
                        "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")},
                    }
                ],
                "users": [
                    {
                        "name": "alice",
                        "user": {
                            "client-certificate": str(pki / "client.crt"),
                            "client-key": str(pki / "client.key"),
                        },
                    }
                ],
                "contexts": [{"name": "kind", "context": {"cluster": "kind", "user": "alice"}}],
                "current-context": "kind",
            }
        )
    )
    return path


def buildinfo(connection: PrometheusConnection) -> Any:
    client = connection.client(timeout_s=5, max_bytes=1 << 16)
    try:
        return client.get("/api/v1/status/buildinfo", headers=connection.request_headers()).json()
    finally:
        client.close()


def test_the_kubeconfigs_ca_and_client_certificate_reach_the_proxy(
    api_server: tuple[str, list[dict[str, Any]]], pki: Path, tmp_path: Path
) -> None:
    url, seen = api_server
    kube = connect(KubernetesConfig(kubeconfig=kubeconfig(tmp_path / "kc", url, pki)))
    try:
        connection = through_kubernetes(PrometheusConfig(kubernetes_service=SERVICE), kube)
    finally:
        kube.close()
    assert connection.request_headers() == {}  # a client certificate, no token
    assert buildinfo(connection)["data"]["version"] == "2.45.3"
    assert seen == [
        {
            "path": "/api/v1/namespaces/istio-system/services/prometheus:9090/proxy"
            "/api/v1/status/buildinfo",
            "client": "alice",
        }
    ]


def test_without_the_client_certificate_the_server_refuses(
    api_server: tuple[str, list[dict[str, Any]]], pki: Path
) -> None:
    url, seen = api_server
    only_ca = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    connection = PrometheusConnection(base_url=url, verify_tls=only_ca)
    with pytest.raises(BackendUnavailableError):
        buildinfo(connection)
    assert seen == []
