"""`http` probes against real servers on loopback: each way a probe fails says why (status, body,
JSONPath, timeout, refused, TLS), a secret header reaches the app and is never printed (reason,
curl line, status --json, errors), and a secret that cannot be read is an ERROR, not a FAIL."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monotui.model import ProbeState
from monotui.rollout.synthetics import SyntheticsReader
from monotui.sim.apps import VersionApp
from monotui.sources.synthetics.http_probe import HttpProbe
from monotui.sources.synthetics.settings import HttpProbeSettings
from monotui.status import snapshot_to_dict

SECRET = "s3cr3t-probe-token-4242"


def settings(url: str, **extra: Any) -> HttpProbeSettings:
    data = {"name": "checkout", "url": url, "urls": {"baseline": url, "canary": url}, **extra}
    return HttpProbeSettings.model_validate(data)


def run_once(probe: HttpProbe, track: str = "canary") -> Any:
    try:
        return probe.probe(track, 100.0)
    finally:
        probe.close()


@pytest.fixture
def app() -> Iterator[VersionApp]:
    made = VersionApp("v2", failing=lambda headers: headers.get("x-flag-new-checkout") == "on")
    yield made
    made.close()


def test_a_wrong_status_fails_with_the_status(app: VersionApp) -> None:
    flagged = settings(
        f"{app.url}/checkout",
        tracks=["baseline", "canary", "canary+flag"],
        urls={t: f"{app.url}/checkout" for t in ("baseline", "canary", "canary+flag")},
        flag={"key": "new-checkout", "headers": {"x-flag-new-checkout": "on"}},
    )
    probe = HttpProbe(flagged, interval_s=5)
    try:
        readings = {r.track: r for r in probe.read(100.0, frozenset())}
    finally:
        probe.close()
    assert readings["canary"].newest is not None and readings["canary"].newest.ok
    flag = readings["canary+flag"].newest
    assert flag is not None and not flag.ok and flag.reason == "status 500 (expected 200)"
    assert (readings["canary+flag"].passes, readings["canary+flag"].failures) == (0, 1)
    assert flag.latency_ms is not None and flag.latency_ms > 0


def test_a_body_without_the_substring_or_the_json_value_fails(app: VersionApp) -> None:
    missing = run_once(
        HttpProbe(settings(f"{app.url}/checkout", expect_body="confirmed"), interval_s=5)
    )
    assert missing.newest.reason.startswith("body: no 'confirmed' in ")
    wrong = run_once(
        HttpProbe(
            settings(f"{app.url}/checkout", expect_json="$.version", expect_json_equals="v1"),
            interval_s=5,
        )
    )
    assert wrong.newest.reason == 'body: $.version is "v2", expected "v1"'
    absent = run_once(
        HttpProbe(settings(f"{app.url}/checkout", expect_json="$.order.items[0]"), interval_s=5)
    )
    assert absent.newest.reason == "body: no $.order.items[0]"
    fine = run_once(
        HttpProbe(
            settings(f"{app.url}/checkout", expect_json="$['status']", expect_json_equals="ok"),
            interval_s=5,
        )
    )
    assert fine.newest.ok and fine.newest.reason == ""


def test_a_server_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as listener:  # accepts connections (the kernel does), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        probe = HttpProbe(
            settings(f"http://127.0.0.1:{port}/checkout", timeout_s=0.3), interval_s=5
        )
        reading = run_once(probe)
    assert reading.newest.reason == "timeout after 0.3 s"
    assert reading.failures == 1 and reading.error is None


def test_nobody_listening_is_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    reading = run_once(HttpProbe(settings(f"http://127.0.0.1:{port}/"), interval_s=5))
    assert reading.newest.reason == "connection refused"


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[str]:
    """An https server on loopback with a self-signed certificate."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_untrusted_certificate_is_a_tls_failure_and_verify_off_passes(tls_server: str) -> None:
    reading = run_once(HttpProbe(settings(f"{tls_server}/"), interval_s=5))
    assert reading.newest.reason.startswith("TLS: certificate not trusted (")
    assert "self-signed" in reading.newest.reason or "self signed" in reading.newest.reason
    trusting = run_once(HttpProbe(settings(f"{tls_server}/", verify_tls=False), interval_s=5))
    assert trusting.newest.ok
    plain = run_once(HttpProbe(settings(tls_server.replace("https", "http") + "/"), interval_s=5))
    assert not plain.newest.ok  # plain http to a TLS port: the probe fails, it does not hang


def test_a_secret_header_reaches_the_app_and_is_never_printed(
    app: VersionApp, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text(f"Bearer {SECRET}\n")
    echo = VersionApp("echo", failing=lambda headers: True)  # a 500 whose body we ignore
    cfg = settings(
        f"{echo.url}/checkout?user=probe",
        method="POST",
        body='{"cart": [1]}',
        headers={"content-type": "application/json", "x-api-key": "not-a-secret-header"},
        secret_headers={"authorization": f"file:{token}", "x-session": "env:PROBE_SESSION"},
    )
    probe = HttpProbe(cfg, interval_s=5, env={"PROBE_SESSION": SECRET + "-session"})
    reader = SyntheticsReader([probe], read_only=False)
    try:
        tallies, problems = reader.read(100.0, frozenset())
        synthetics = reader.synthetics(100.0)
    finally:
        reader.close()
        echo.close()
    method, path, headers = echo.requests[-1]
    assert (method, path) == ("POST", "/checkout?user=probe")
    assert headers["authorization"] == f"Bearer {SECRET}"
    assert headers["x-session"] == SECRET + "-session"
    curl = probe.curl("canary") or ""
    assert '-H "authorization: $(cat ' in curl and '-H "x-session: ${PROBE_SESSION}"' in curl
    assert "--data-raw '{\"cart\": [1]}'" in curl and "-X POST" in curl
    assert "'x-api-key: ***'" in curl  # a header that looks like a credential is not shown
    from monotui.model import Plan, Snapshot, Verdict

    snap = Snapshot(
        "r", "ns", "", "istio", 100.0, Plan((1, 100), 1), None, (), Verdict.no_data(""),
        (), (), (), synthetics=synthetics,
    )  # fmt: skip
    printed = json.dumps(snapshot_to_dict(snap)) + curl + problems + repr(tallies)
    assert SECRET not in printed
    assert synthetics.cells[0].state == ProbeState.FAIL


def test_a_secret_that_cannot_be_read_is_an_error_not_a_failure(
    app: VersionApp, tmp_path: Path
) -> None:
    cfg = settings(f"{app.url}/checkout", secret_headers={"authorization": "file:/nonexistent/t"})
    reader = SyntheticsReader([HttpProbe(cfg, interval_s=5, env={})], read_only=False)
    try:
        tallies, problems = reader.read(100.0, frozenset())
        cells = reader.synthetics(100.0).cells
    finally:
        reader.close()
    assert {c.state for c in cells} == {ProbeState.ERROR}
    assert "secret header authorization: cannot read /nonexistent/t" in problems
    assert all(t.probes == 0 for t in tallies)  # nothing counted against either version
    assert app.requests == []
