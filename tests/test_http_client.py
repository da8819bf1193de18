"""The bounded HTTP client against a fault-injecting Prometheus: every fault is one clean line.

Timings here are sanity bounds only (a request that should stop at its 1 s deadline finishes
within 3 s); the real numbers belong in bench/.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monotui.errors import (
    BackendUnavailableError,
    ConfigError,
    MonotuiError,
    PermissionDeniedError,
    SourceError,
)
from monotui.sources.http_client import BoundedClient
from tests.fakeprom import FakePrometheus, Fault

ROOT = Path(__file__).resolve().parent.parent
MB = 1 << 20
TIMEOUT_S = 1.0
QUERY = 'sum by (destination_version) (rate(istio_requests_total{response_code=~"5.."}[1m]))'


@pytest.fixture
def prom() -> Iterator[FakePrometheus]:
    with FakePrometheus() as server:
        server.answer("istio_requests_total", {"destination_version": "v1"}, 0.01)
        server.answer("istio_requests_total", {"destination_version": "v2"}, 0.02)
        yield server


@pytest.fixture
def client(prom: FakePrometheus) -> Iterator[BoundedClient]:
    with BoundedClient(
        prom.url, timeout_s=TIMEOUT_S, max_bytes=16 * MB, name="Prometheus"
    ) as bounded:
        yield bounded


def one_clean_line(message: str) -> None:
    assert message and "\n" not in message and message.isprintable(), repr(message)


def query(client: BoundedClient) -> dict[str, str]:
    """{version: value} of the vector the client reads for QUERY."""
    answer = client.get("/api/v1/query", {"query": QUERY}).raise_for_status().json()
    return {s["metric"]["destination_version"]: s["value"][1] for s in answer["data"]["result"]}


# --- answers that are data ------------------------------------------------------------------------


def test_a_healthy_answer_reads_as_json(client: BoundedClient, prom: FakePrometheus) -> None:
    assert query(client) == {"v1": "0.01", "v2": "0.02"}
    (request,) = prom.requests
    assert request.params["query"] == [QUERY]
    assert request.headers["Accept-Encoding"] == "identity"


@pytest.mark.parametrize(
    ("fault", "values"),
    [
        (Fault.NAN, {"v1": "NaN", "v2": "NaN"}),
        (Fault.INF, {"v1": "+Inf", "v2": "+Inf"}),
        (Fault.NEGATIVE, {"v1": "-0.01", "v2": "-0.02"}),
        (Fault.MISSING_CANARY, {"v1": "0.01"}),
    ],
)
def test_odd_values_come_through_as_the_data_they_are(
    client: BoundedClient, prom: FakePrometheus, fault: Fault, values: dict[str, str]
) -> None:
    # Judging them (NO DATA, refusing negatives) is the metrics source's job; the client must
    # deliver them intact.
    prom.fault = fault
    assert query(client) == values


def test_a_range_query_and_a_form_post_work(client: BoundedClient, prom: FakePrometheus) -> None:
    params = {"query": QUERY, "start": "1000", "end": "1060", "step": "15"}
    matrix = client.get("/api/v1/query_range", params).raise_for_status().json()
    assert [len(s["values"]) for s in matrix["data"]["result"]] == [5, 5]
    posted = client.post("/api/v1/query", data={"query": QUERY}).raise_for_status().json()
    assert len(posted["data"]["result"]) == 2
    assert prom.requests[-1].params["query"] == [QUERY]
    client.post("/api/v1/query", json={"context": {"user": "é"}})
    assert json.loads(prom.requests[-1].body) == {"context": {"user": "é"}}
    assert prom.requests[-1].headers["Content-Type"] == "application/json"


# --- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        (Fault.HTTP_500, BackendUnavailableError, "failed (HTTP 500): internal server error"),
        (Fault.HTML, BackendUnavailableError, "failed (HTTP 502): 502 Bad Gateway"),
        (Fault.TRUNCATED, SourceError, "cut its answer short (138 bytes received)"),
        (Fault.TRICKLE, BackendUnavailableError, "did not finish its answer ("),
        (Fault.TRICKLE_HEADERS, BackendUnavailableError, "did not answer within 1 s"),
        (Fault.HUGE, SourceError, "sent an answer larger than 16 MB (announced 60 MB)"),
        (Fault.HUGE_CHUNKED, SourceError, "sent an answer larger than 16 MB; nothing of it"),
        (Fault.ENDLESS, SourceError, "sent an answer larger than 16 MB; nothing of it"),
        (Fault.SLOW, BackendUnavailableError, "did not answer within 1 s (the whole request)"),
        (Fault.DROP, BackendUnavailableError, "closed the connection without answering"),
        (Fault.SILENT, BackendUnavailableError, "did not answer within 1 s"),
    ],
    ids=lambda v: v.value if isinstance(v, Fault) else "",
)
def test_every_fault_is_one_typed_line_within_the_deadline(
    client: BoundedClient,
    prom: FakePrometheus,
    fault: Fault,
    error: type[MonotuiError],
    words: str,
) -> None:
    prom.fault = fault
    started = time.monotonic()
    with pytest.raises(MonotuiError) as caught:
        query(client)
    elapsed = time.monotonic() - started
    assert type(caught.value) is error
    assert caught.value.exit_code == 5
    message = str(caught.value)
    one_clean_line(message)
    assert message.startswith(f"Prometheus at {prom.url} ") and words in message
    assert elapsed < 3 * TIMEOUT_S  # a sanity bound; bench/ measures
    prom.fault = Fault.NONE
    assert query(client) == {"v1": "0.01", "v2": "0.02"}  # the client recovers


def test_a_trickle_of_one_byte_every_half_second_cannot_hold_a_request(
    prom: FakePrometheus,
) -> None:
    # The case: timeout_s = 2 and a byte every 0.5 s kept `status` busy for 117 s.
    prom.fault, prom.trickle_s = Fault.TRICKLE, 0.5
    with BoundedClient(prom.url, timeout_s=2, max_bytes=MB, name="Prometheus") as slow:
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError, match="within 2 s"):
            slow.get("/api/v1/query", {"query": QUERY})
        assert time.monotonic() - started < 6


def test_one_slow_query_does_not_hold_the_others(prom: FakePrometheus) -> None:
    prom.fault_when["slowpoke"] = Fault.SLOW
    with BoundedClient(prom.url, timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus") as shared:
        failures: list[Exception] = []
        answers: list[int] = []

        def slow() -> None:
            try:
                shared.get("/api/v1/query", {"query": "slowpoke"})
            except BackendUnavailableError as exc:
                failures.append(exc)

        def quick() -> None:
            for _ in range(10):
                answers.append(shared.get("/api/v1/query", {"query": QUERY}).status)

        threads = [threading.Thread(target=slow)] + [
            threading.Thread(target=quick) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(failures) == 1 and answers == [200] * 40
        # The deadline of the failed request does not stick to its thread.
        assert shared.get("/api/v1/query", {"query": QUERY}).status == 200


def test_a_60_mb_or_endless_body_costs_at_most_the_cap_in_memory(prom: FakePrometheus) -> None:
    child = textwrap.dedent(
        f"""
        import resource
        from monotui.errors import SourceError
        from monotui.sources.http_client import BoundedClient
        client = BoundedClient({prom.url!r}, timeout_s=20, max_bytes=16 << 20, name="Prometheus")
        client.get("/api/v1/query", {{"query": "warm up"}})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for query in ("huge", "endless"):
            try:
                client.get("/api/v1/query", {{"query": query}})
            except SourceError as exc:
                print(exc)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
        """
    )
    prom.fault_when.update({"huge": Fault.HUGE_CHUNKED, "endless": Fault.ENDLESS})
    prom.huge_status = 503  # the 60 MB error page
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    huge, endless, growth_mb = out.stdout.splitlines()
    assert "larger than 16 MB" in huge and "larger than 16 MB" in endless
    assert int(growth_mb) < 50, f"RSS grew {growth_mb} MB"


def test_a_compressed_answer_is_inflated_within_the_cap(prom: FakePrometheus) -> None:
    prom.fault = Fault.RAW
    prom.raw_headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    prom.raw_body = gzip.compress(b'{"status": "success"}')
    with BoundedClient(prom.url, timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus") as small:
        assert small.get("/api/v1/query").json() == {"status": "success"}
        prom.raw_body = gzip.compress(b"0" * (64 * MB))  # a 64 KB gzip bomb
        with pytest.raises(SourceError, match=r"larger than 1 MB \(inflated\)"):
            small.get("/api/v1/query")
        prom.raw_headers = {"Content-Encoding": "br"}
        with pytest.raises(SourceError, match="content encoding 'br', not asked for"):
            small.get("/api/v1/query")


def test_bad_json_is_a_source_error_naming_the_server(
    client: BoundedClient, prom: FakePrometheus
) -> None:
    prom.fault = Fault.RAW
    prom.raw_body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(SourceError, match="answer of Prometheus at .* is nested deeper than 64"):
        client.get("/api/v1/query").json()
    prom.raw_body = b'{"flags": [], "flags": []}'
    with pytest.raises(SourceError, match="has the key 'flags' twice"):
        client.get("/api/v1/query").json()
    assert client.get("/api/v1/query").json(on_duplicate="last") == {"flags": []}
    prom.raw_body = b"<html>nope</html>"
    with pytest.raises(SourceError, match=r"is not valid JSON: Expecting value \(line 1"):
        client.get("/api/v1/query").json()


def test_error_statuses_say_what_the_server_said(
    client: BoundedClient, prom: FakePrometheus
) -> None:
    prom.fault = Fault.RAW
    prom.raw_status = 400
    prom.raw_body = b'{"status":"error","errorType":"bad_data","error":"parse error at char 4"}'
    with pytest.raises(SourceError, match=r"rejected the request \(HTTP 400\): bad_data: parse"):
        client.get("/api/v1/query").raise_for_status()
    prom.raw_status, prom.raw_body = 429, b"slow down"
    prom.raw_headers = {"Retry-After": "30"}
    with pytest.raises(BackendUnavailableError, match=r"HTTP 429, retry after 30\): slow down"):
        client.get("/api/v1/query").raise_for_status()
    prom.raw_status, prom.raw_body = 302, b""
    prom.raw_headers = {"Location": "https://sso:hunter2@login.example/?token=abc"}
    answer = client.get("/api/v1/query")
    assert answer.status == 302  # redirects are not followed: credentials stay with one host
    with pytest.raises(
        SourceError, match=r"redirects to https://\*\*\*@login.example/\?token=\*\*\*"
    ):
        answer.raise_for_status()


def test_a_hostile_error_page_is_shown_as_one_literal_line(
    client: BoundedClient, prom: FakePrometheus
) -> None:
    prom.fault = Fault.HTML
    prom.html_page = (
        "<html><head><title>\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07oops\n\u202eevil "
        "&amp; [bold]x[/bold]</title></head><body>" + "A" * 100_000 + "</body></html>"
    )
    with pytest.raises(BackendUnavailableError) as caught:
        client.get("/api/v1/query").raise_for_status()
    message = str(caught.value)
    one_clean_line(message)
    assert "\x1b" not in message and "\u202e" not in message
    assert message.endswith(
        "(HTTP 502): \\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07oops \\u202eevil & [bold]x[/bold]"
    )


def test_credentials_never_appear_in_a_message(prom: FakePrometheus) -> None:
    token = "tok-0123456789abcdef"
    prom.fault = Fault.UNAUTHORIZED  # the server echoes the Authorization header back
    bearer = BoundedClient(
        prom.url, timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    with pytest.raises(PermissionDeniedError) as denied:
        bearer.get("/api/v1/query").raise_for_status()
    assert prom.requests[-1].headers["Authorization"] == f"Bearer {token}"
    assert str(denied.value).endswith(
        "(HTTP 401): bad credentials: ***: check the token and headers"
    )
    assert denied.value.exit_code == 4
    fresh = bearer.get("/api/v1/query", headers={"X-Api-Key": "key-fedcba9876543210"})
    assert fresh.summary() == "bad credentials: *** ***"  # a per-request credential too
    basic_url = prom.url.replace("http://", "http://admin:hunter2@")
    basic = BoundedClient(basic_url, timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus")
    with pytest.raises(PermissionDeniedError) as denied:
        basic.get("/api/v1/query").raise_for_status()
    assert prom.requests[-1].headers["Authorization"] == "Basic YWRtaW46aHVudGVyMg=="
    assert str(denied.value) == (
        f"Prometheus at {prom.url.replace('http://', 'http://***@')} refused us (HTTP 401): "
        "bad credentials: Basic ***: check the token and headers"
    )
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    refused = BoundedClient(
        f"http://admin:hunter2@127.0.0.1:{port}", timeout_s=TIMEOUT_S, max_bytes=MB, name="OFREP"
    )
    with pytest.raises(BackendUnavailableError) as caught:
        refused.get("/ofrep/v1/evaluate/flags")
    assert str(caught.value) == (
        f"cannot reach OFREP at http://***@127.0.0.1:{port}: connection refused; check the url "
        "and that the server is up"
    )


def test_a_short_user_name_is_not_scrubbed_out_of_the_message() -> None:
    # Scrubbing the user "u" as a secret turned the line into "cannot reach Promethe***s ...".
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    refused = BoundedClient(
        f"http://u:hunter2@127.0.0.1:{port}", timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus"
    )
    with pytest.raises(BackendUnavailableError) as caught:
        refused.get("/api/v1/query")
    assert str(caught.value) == (
        f"cannot reach Prometheus at http://***@127.0.0.1:{port}: connection refused; check the "
        "url and that the server is up"
    )


def test_a_name_that_does_not_resolve_fails_within_the_deadline() -> None:
    with BoundedClient(
        "http://monotui-test.invalid:9090", timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus"
    ) as nowhere:
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError) as caught:
            nowhere.get("/-/ready")
        assert time.monotonic() - started < 3 * TIMEOUT_S
    # With a resolver that answers, it says so; with none reachable, the deadline says so.
    message = str(caught.value)
    assert "host name does not resolve (name or service not known)" in message or (
        "within 1 s" in message
    )


# --- TLS ------------------------------------------------------------------------------------------


def test_https_to_a_plain_http_server_says_so(prom: FakePrometheus) -> None:
    https = prom.url.replace("http://", "https://")
    wrong = BoundedClient(https, timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus")
    with pytest.raises(ConfigError) as caught:
        wrong.get("/-/ready")
    assert (
        str(caught.value)
        == f"Prometheus at {https} does not speak TLS: use http:// instead of https://"
    )
    assert caught.value.exit_code == 2


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_a_tls_server_checked_reached_plainly_and_stalled(certificate: tuple[Path, Path]) -> None:
    with FakePrometheus(tls=certificate) as tls:
        checked = BoundedClient(tls.url, timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus")
        with pytest.raises(BackendUnavailableError, match="its TLS certificate is not trusted"):
            checked.get("/-/ready")
        trusting = BoundedClient(
            tls.url, timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus", verify_tls=False
        )
        assert trusting.get("/-/ready").text == "Prometheus Server is Ready.\n"
        plain = BoundedClient(
            tls.url.replace("https://", "http://"), timeout_s=TIMEOUT_S, max_bytes=MB
        )
        with pytest.raises(MonotuiError, match=r"if it speaks TLS, use https://\)$"):
            plain.get("/-/ready")
        tls.fault = Fault.SILENT  # accepts, then never starts the handshake
        started = time.monotonic()
        with pytest.raises(
            BackendUnavailableError, match="did not complete a connection within 1 s"
        ):
            BoundedClient(tls.url, timeout_s=TIMEOUT_S, max_bytes=MB, verify_tls=False).get("/")
        assert time.monotonic() - started < 3 * TIMEOUT_S
        for each in (checked, trusting, plain):
            each.close()


def test_an_ssl_context_brings_its_own_ca(certificate: tuple[Path, Path]) -> None:
    # A Kubernetes API server's service proxy is verified by the kubeconfig's CA, not the system's.
    with FakePrometheus(tls=certificate) as tls:
        context = ssl.create_default_context(cafile=str(certificate[0]))
        client = BoundedClient(
            tls.url, timeout_s=TIMEOUT_S, max_bytes=MB, name="Prometheus", verify_tls=context
        )
        assert client.get("/-/ready").text == "Prometheus Server is Ready.\n"
        client.close()
        other = ssl.create_default_context()  # the system's CAs do not know this certificate
        refused = BoundedClient(tls.url, timeout_s=TIMEOUT_S, max_bytes=MB, verify_tls=other)
        with pytest.raises(BackendUnavailableError, match="its TLS certificate is not trusted"):
            refused.get("/-/ready")
        refused.close()


# --- what is refused before any request -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Prometheus url is empty: set it to http://host:port or https://host:port"),
        ("prometheus:9090", "Prometheus url prometheus:9090 has no scheme: add http:// or https://"),
        ("admin:pw@prom:9090", "Prometheus url ***@prom:9090 has no scheme: add http:// or https://"),
        ("ftp://prom/", "Prometheus url ftp://prom/: ftp:// is not supported: use http:// or https://"),
        ("http://", "Prometheus url http:// has no host"),
        ("http://prom:99999", "Prometheus url http://prom:99999 has port 99999: ports run from 1 to 65535"),
        ("http://prom:x", "Prometheus url http://prom:x has port x: a port is a number from 1 to 65535"),
        ("http://prom:9090/ x", "Prometheus url http://prom:9090/ x contains a space or a control character"),
        ("http://prom\r\n:9090", "Prometheus url http://prom\\r\\n:9090 contains a space or a control character"),
        ("http://prom/?token=abc", "Prometheus url http://prom/?token=*** must not have a ?query or #fragment"),
        (5, "Prometheus url must be text like http://host:9090"),
    ],
)  # fmt: skip
def test_unusable_urls_are_config_errors_that_say_what_to_do(url: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BoundedClient(url, timeout_s=1, max_bytes=MB, name="Prometheus")  # type: ignore[arg-type]
    assert str(caught.value) == message and caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-Token": "abc\r\nX-Injected: 1"}, "header X-Token contains a line break or NUL"),
        ({"X-Token": "abc\0"}, "header X-Token contains a line break or NUL"),
        ({"X-Token": "café"}, "header X-Token may hold only printable ASCII"),
        ({"X Bad": "v"}, "header name 'X Bad' is not a valid HTTP header name"),
    ],
)
def test_headers_that_cannot_be_sent_are_refused_without_echoing_them(
    headers: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        BoundedClient("http://prom:9090", timeout_s=1, max_bytes=MB, headers=headers)
    assert message in str(caught.value) and "abc" not in str(caught.value)
    client = BoundedClient("http://prom:9090", timeout_s=1, max_bytes=MB)
    with pytest.raises(ConfigError, match="header"):
        client.get("/", headers=headers)  # per request too, before anything is sent


@pytest.mark.parametrize("timeout_s", [0, -1, float("inf"), float("nan"), 1e308, True, "5"])
def test_meaningless_timeouts_are_refused(timeout_s: object) -> None:
    with pytest.raises(ConfigError, match="timeout_s must be a number of seconds above 0"):
        BoundedClient("http://prom:9090", timeout_s=timeout_s, max_bytes=MB)  # type: ignore[arg-type]


def test_a_path_can_never_point_at_another_host(client: BoundedClient) -> None:
    with pytest.raises(ValueError):
        client.get("http://elsewhere/api")
    with pytest.raises(ConfigError, match="max_bytes must be a positive"):
        BoundedClient("http://prom:9090", timeout_s=1, max_bytes=0)
