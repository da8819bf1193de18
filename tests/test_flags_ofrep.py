"""OFREP bulk evaluation against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monotui.errors import (
    BackendUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    ReadOnlyError,
    SourceError,
)
from monotui.sources.base import FlagSource
from monotui.sources.flags_ofrep import OfrepFlags
from tests.configs import rollout_config

FLAGS: dict[str, Any] = {
    "flags": [
        {"key": "new-checkout", "value": True, "reason": "STATIC", "variant": "on", "metadata": {}},
        {"key": "headerColor", "value": "#00FF00", "reason": "SPLIT", "variant": "green"},
        {"key": "limits", "value": {"rps": 10}, "reason": "TARGETING_MATCH", "variant": "small"},
        {"key": "retries", "value": 2.5, "reason": "DEFAULT", "variant": "high"},
        {"key": "gone", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "flag gone was not found"},
    ]
}


@dataclass
class Ofrep:
    """What the fake OFREP service answers, and what it was asked."""

    status: int = 200
    body: Any = field(default_factory=lambda: FLAGS)
    etag: str | None = '"v1"'
    hang: threading.Event | None = None
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def ofrep() -> Iterator[Ofrep]:
    state = Ofrep()

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            state.requests.append((self.path, dict(self.headers), body))
            if state.hang is not None:
                state.hang.wait(10)
            if state.etag and self.headers.get("If-None-Match") == state.etag:
                self.send_response(304)
                self.send_header("ETag", state.etag)
                self.end_headers()
                return
            data = (
                json.dumps(state.body).encode() if not isinstance(state.body, bytes) else state.body
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if state.etag and state.status == 200:
                self.send_header("ETag", state.etag)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    if state.hang is not None:
        state.hang.set()
    server.shutdown()
    server.server_close()


def source(url: str, **flags: Any) -> OfrepFlags:
    rollout = rollout_config({"name": "shop", "flags": {"kind": "ofrep", "url": url, **flags}})
    return OfrepFlags(rollout)


def test_values_variants_and_reasons_per_flag(ofrep: Ofrep) -> None:
    src = source(ofrep.url + "/", context={"targetingKey": "ops", "tier": "gold"})
    assert isinstance(src, FlagSource) and not src.can_write
    flagset = src.read()
    flags = {f.key: f for f in flagset.flags}
    assert flags["new-checkout"].value is True and flags["new-checkout"].default_variant == "on"
    assert flags["headerColor"].reason == "SPLIT" and flags["headerColor"].targeting == "split"
    assert flags["limits"].value == {"rps": 10}
    assert flags["retries"].value == 2.5
    assert all(f.toggle is None for f in flagset.flags)
    path, headers, body = ofrep.requests[0]
    assert path == "/ofrep/v1/evaluate/flags"
    assert body == {"context": {"targetingKey": "ops", "tier": "gold"}}
    assert "If-None-Match" not in headers


def test_flag_not_found_shows_on_that_flag(ofrep: Ofrep) -> None:
    flagset = source(ofrep.url).read()
    gone = next(f for f in flagset.flags if f.key == "gone")
    assert gone.error == "FLAG_NOT_FOUND: flag gone was not found"
    assert gone.value is None
    assert flagset.errors == ("flag gone: FLAG_NOT_FOUND: flag gone was not found",)


def test_304_keeps_the_last_result(ofrep: Ofrep) -> None:
    src = source(ofrep.url)
    first = src.read()
    ofrep.body = {"flags": []}  # would empty the panel if the 304 were not honoured
    second = src.read()
    assert second is first
    assert ofrep.requests[1][1].get("If-None-Match") == '"v1"'
    ofrep.etag = '"v2"'
    third = src.read()
    assert third.flags == () and third.version == '"v2"'


def test_a_whole_404_says_the_url_is_wrong(ofrep: Ofrep) -> None:
    ofrep.status, ofrep.body = 404, {"errorCode": "FLAG_NOT_FOUND", "errorDetails": "no such path"}
    with pytest.raises(NotFoundError, match="without /ofrep/v1"):
        source(ofrep.url).read()


def test_500_carries_the_servers_message(ofrep: Ofrep) -> None:
    ofrep.status, ofrep.body = 500, {"errorDetails": "database [red]down[/red]"}
    with pytest.raises(BackendUnavailableError, match=r"HTTP 500\): database \[red\]down"):
        source(ofrep.url).read()


def test_401_asks_for_credentials_and_headers_are_sent(ofrep: Ofrep) -> None:
    ofrep.status, ofrep.body = 401, {}
    with pytest.raises(PermissionDeniedError, match="headers"):
        source(ofrep.url, headers={"X-API-Key": "k1"}).read()
    assert ofrep.requests[0][1].get("X-API-Key") == "k1"


def test_garbage_is_a_source_error(ofrep: Ofrep) -> None:
    ofrep.body = b"<html>proxy login</html>"
    with pytest.raises(SourceError, match="not valid JSON"):
        source(ofrep.url).read()


def test_a_slow_server_times_out(ofrep: Ofrep) -> None:
    ofrep.hang = threading.Event()
    with pytest.raises(BackendUnavailableError, match="did not answer within 0.2 s"):
        source(ofrep.url, timeout_s=0.2).read()


def test_an_unreachable_server_is_backend_unavailable() -> None:
    with pytest.raises(BackendUnavailableError, match="cannot reach"):
        source("http://127.0.0.1:9").read()


def test_toggle_is_refused(ofrep: Ofrep) -> None:
    src = source(ofrep.url)
    with pytest.raises(ReadOnlyError, match="read-only"):
        src.toggle("new-checkout", src.read())


def test_markup_and_escapes_come_through_unchanged(ofrep: Ofrep) -> None:
    ofrep.body = {
        "flags": [
            {
                "key": "[red]x[/red]",
                "value": "\x1b[2J[b]boom[/b]",
                "variant": "[i]v",
                "reason": "STATIC",
            }
        ]
    }
    flag = source(ofrep.url).read().flags[0]
    assert flag.key == "[red]x[/red]"
    assert flag.value == "\x1b[2J[b]boom[/b]"
    assert flag.default_variant == "[i]v"
