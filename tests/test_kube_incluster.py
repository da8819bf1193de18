"""The in-cluster connection the deployed autopilot runs on: KUBERNETES_SERVICE_HOST/PORT, the
service account's CA, token and namespace files, through the real `kubernetes` client against a
real TLS server on loopback. The token is a bound one the kubelet rotates in its file: a
long-running process sends the new one (the client re-reads the file once a minute), and the
audit log names the service account the token is for."""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kubernetes.config import incluster_config

from monotui.autopilot.lease import LeaseLock
from monotui.config import KubernetesConfig
from monotui.sources import kube

SUBJECT = "system:serviceaccount:monotui:monotui-autopilot"


def jwt(subject: str, jti: str) -> str:
    """A token shaped like the kubelet's (header.claims.signature); nothing here verifies it."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part({'sub': subject, 'jti': jti})}.c2lnbmF0dXJl"


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    """An HTTPS server for 127.0.0.1 that records each request's Authorization header and
    answers 404 (no Lease)."""
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=kube-apiserver", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization", ""))
            body = json.dumps(
                {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                 "reason": "NotFound", "message": "leases.coordination.k8s.io not found",
                 "details": {"name": "monotui-istio-reviews", "kind": "leases"}}
            ).encode()  # fmt: skip
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert, seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_server: tuple[int, Path, list[str]]
) -> Path:
    """What the kubelet gives a pod: the service's address in the environment, and the
    service account's folder (here under tmp_path: the client's and monotui's paths point there)."""
    port, cert, _ = api_server
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "ca.crt").write_bytes(cert.read_bytes())
    (folder / "token").write_text(jwt(SUBJECT, "first"))
    (folder / "namespace").write_text("monotui")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(folder / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(folder / "ca.crt"))
    monkeypatch.setattr(kube, "_SA_DIR", folder)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(port))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.kube/config
    return folder


def test_a_long_running_process_sends_the_token_the_kubelet_rotated(
    pod: Path, api_server: tuple[int, Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, seen = api_server
    conn = kube.connect(KubernetesConfig())
    try:
        assert (conn.context, conn.namespace) == ("in-cluster", "monotui")
        assert conn.server.startswith("https://127.0.0.1:")
        lock = LeaseLock(conn, "bookinfo", "monotui-istio-reviews", "reviews", timeout_s=2)
        assert lock.get() is None
        assert seen == [f"bearer {jwt(SUBJECT, 'first')}"]
        (pod / "token").write_text(jwt(SUBJECT, "rotated"))  # the kubelet's atomic swap

        real = datetime.datetime

        class AnHourLater(real):  # the client's clock for its once-a-minute re-read
            @classmethod
            def now(cls, tz: datetime.tzinfo | None = None) -> AnHourLater:
                return super().now(tz) + datetime.timedelta(hours=1)  # type: ignore[return-value]

        monkeypatch.setattr(incluster_config.datetime, "datetime", AnHourLater)
        assert lock.get() is None
        assert seen[-1] == f"bearer {jwt(SUBJECT, 'rotated')}"
    finally:
        conn.close()


def test_the_audit_names_the_service_account_of_the_token(pod: Path) -> None:
    conn = kube.connect(KubernetesConfig())
    conn.close()
    assert conn.user == SUBJECT  # not the bare word "serviceaccount"
    (pod / "token").write_text("not a token")
    conn = kube.connect(KubernetesConfig())
    conn.close()
    assert conn.user == "serviceaccount"
