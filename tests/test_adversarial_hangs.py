"""Adversarial: servers that hang, trickle, flood or answer twice.

The Kubernetes API (the fake, through the real client) trickles a byte at a time, holds a
PATCH's answer after applying it, sends an answer too big or too deep; an OFREP service trickles
and lists a key twice. Each request ends by its deadline with one line (a per-read timeout never
fires on a trickle, so only a whole-request deadline can), an oversized answer is refused, a
watch stops at once, the TUI shows a duplicated flag once, and `q` quits while every source
hangs.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.terminal import start
from monotui.app import MonotuiApp
from monotui.errors import BackendUnavailableError, SourceError, UncertainWriteError
from monotui.model import Weights
from monotui.rollout import assemble
from monotui.sources.flags_ofrep import OfrepFlags
from monotui.sources.kube_watch import ObjectWatch
from monotui.sources.router_istio import IstioRouter
from monotui.sources.router_static import StaticRouter
from tests.configs import reviews_toml, rollout_config
from tests.fakekube import FakeKube
from tests.router_helpers import ISTIO, NS, kube, no_metrics, rollout, virtual_service, wait_for
from tests.test_app_support import screen_text, settle

ROOT = Path(__file__).resolve().parent.parent


class Trickler(socketserver.ThreadingTCPServer):
    """An HTTP server that reads the request, then sends `answer` one byte every `interval_s`
    (forever when `answer` is None: a status line that never ends)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: bytes | None = None, interval_s: float = 0.3) -> None:
        self.answer = answer
        self.interval_s = interval_s
        self.stopped = threading.Event()
        self.requests = 0
        super().__init__(("127.0.0.1", 0), _TrickleHandler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.stopped.set()
        self.shutdown()
        self.server_close()


class _TrickleHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: Trickler = self.server  # type: ignore[assignment]
        sock: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        server.requests += 1
        answer = server.answer if server.answer is not None else b"HTTP/1.1 200 OK\r\nX-Pad: "
        i = 0
        while not server.stopped.is_set():
            byte = answer[i : i + 1] if i < len(answer) else b"a"
            if server.answer is not None and i >= len(answer):
                return
            try:
                sock.sendall(byte)
            except OSError:
                return
            i += 1
            server.stopped.wait(server.interval_s)


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    server = Trickler()
    yield server
    server.stop()


def http_answer(body: Any) -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return head.encode() + b"\r\n" + data


# --- the Kubernetes API --------------------------------------------------------------------------


def test_a_trickled_get_ends_by_its_deadline(fake_kube: FakeKube, fake_kubeconfig: Path) -> None:
    fake_kube.put_object(virtual_service(10))
    conn = kube(fake_kubeconfig, timeout_s=1.0)
    router = IstioRouter(conn, no_metrics(rollout()))
    # A byte every 0.3 s: every read answers well within any per-read timeout, forever.
    fake_kube.trickle_next(None, 0.3, method="GET")
    with pytest.raises(BackendUnavailableError, match="did not answer in time") as caught:
        router.read()
    assert "\n" not in str(caught.value)
    conn.close()


def test_a_trickled_patch_is_uncertain_and_names_what_it_sent(
    fake_kube: FakeKube, fake_kubeconfig: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    conn = kube(fake_kubeconfig, timeout_s=1.0)
    router = IstioRouter(conn, no_metrics(rollout()))
    seen = router.read()
    fake_kube.trickle_next(1, 0.3, method="PATCH")
    with pytest.raises(UncertainWriteError, match="MAY have been applied") as caught:
        router.write(Weights(50, 50), seen)
    assert json.loads(caught.value.patch)[-1]["value"] == 50
    conn.close()


def test_an_answer_too_big_is_refused(fake_kube: FakeKube, fake_kubeconfig: Path) -> None:
    vs = virtual_service(10)
    vs["metadata"]["annotations"]["huge"] = "x" * (9 << 20)
    fake_kube.put_object(vs)
    conn = kube(fake_kubeconfig)
    with pytest.raises(SourceError, match="more than 8 MB") as caught:
        IstioRouter(conn, no_metrics(rollout())).read()
    assert "\n" not in str(caught.value)
    conn.close()


def test_an_answer_nested_too_deep_is_refused(fake_kube: FakeKube, fake_kubeconfig: Path) -> None:
    vs = virtual_service(10)
    deep: Any = "bottom"
    for _ in range(300):
        deep = [deep]
    vs["spec"]["deep"] = deep
    fake_kube.put_object(vs)
    conn = kube(fake_kubeconfig)
    with pytest.raises(SourceError, match="nested deeper"):
        IstioRouter(conn, no_metrics(rollout())).read()
    conn.close()


def test_a_quiet_watch_stops_at_once(fake_kube: FakeKube, fake_kubeconfig: Path) -> None:
    fake_kube.put_object(virtual_service(10))
    conn = kube(fake_kubeconfig)
    seen: list[Any] = []
    watch = ObjectWatch(
        conn.custom.list_namespaced_custom_object,
        (ISTIO, "v1", NS, "virtualservices"),
        "reviews",
        seen.append,
    )
    watch.start()
    wait_for(lambda: seen)  # connected, and now nothing happens on it
    watch.stop(timeout_s=2.0)
    assert not watch._thread.is_alive()  # the blocked read was cut, not waited out
    conn.close()


# --- OFREP ----------------------------------------------------------------------------------------


def ofrep(url: str, **flags: Any) -> OfrepFlags:
    cfg = rollout_config({"name": "shop", "flags": {"kind": "ofrep", "url": url, **flags}})
    return OfrepFlags(cfg)


def test_a_trickling_ofrep_ends_by_its_deadline(trickler: Trickler) -> None:
    src = ofrep(trickler.url, timeout_s=1.0)
    with pytest.raises(BackendUnavailableError) as caught:
        src.read()
    assert (
        "1 s" in str(caught.value)
        or "in time" in str(caught.value)
        or "within" in str(caught.value)
    )
    src.close()


def test_an_ofrep_answer_listing_a_key_twice_is_reported_not_a_crash() -> None:
    body = {
        "flags": [
            {"key": "new-checkout", "value": True, "variant": "on", "reason": "STATIC"},
            {"key": "new-checkout", "value": False, "variant": "off", "reason": "STATIC"},
            {"key": "other", "value": 1, "variant": "one", "reason": "STATIC"},
        ]
    }
    server = Trickler(http_answer(body), interval_s=0)
    try:
        flagset = ofrep(server.url).read()
    finally:
        server.stop()
    assert [f.key for f in flagset.flags] == ["new-checkout", "other"]
    assert flagset.flags[0].error and "twice" in flagset.flags[0].error
    assert any("twice" in e for e in flagset.errors)


async def test_the_cockpit_shows_a_key_listed_twice_once() -> None:
    body = {
        "flags": [
            {"key": "dup", "value": True, "variant": "on", "reason": "STATIC"},
            {"key": "dup", "value": False, "variant": "off", "reason": "STATIC"},
        ]
    }
    server = Trickler(http_answer(body), interval_s=0)
    cfg = rollout_config(
        {
            "name": "shop",
            "router": {"kind": "none"},
            "metrics": {"kind": "none"},
            "flags": {"kind": "ofrep", "url": server.url},
        }
    )
    ctl = assemble(cfg, router=StaticRouter(), flags=OfrepFlags(cfg))
    app = MonotuiApp([ctl], poll=False)
    app.animation_level = "none"
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert app.is_running
            text = screen_text(app)
            assert text.count("dup") >= 1 and "twice" in text
            rows = [r for r in text.splitlines() if " dup " in f" {r} "]
            assert len([r for r in rows if "ERROR" in r]) == 1
    finally:
        ctl.close()
        server.stop()


# --- quitting while everything hangs ---------------------------------------------------------------

# The metrics are left out: the Prometheus source runs its queries on a pool of its own (not
# this suite's to change); the route and the flags hang here.
CONFIG = reviews_toml(
    interval_s=1,
    more='[rollouts.flags]\nkind = "ofrep"\nurl = "{ofrep}"\ntimeout_s = 30\n',
)


def test_q_quits_while_every_source_hangs(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path, trickler: Trickler
) -> None:
    fake_kube.put_object(virtual_service(10))
    fake_kube.trickle_next(None, 0.5, method="GET")  # every read of the route, forever
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(CONFIG.format(ofrep=trickler.url, audit=tmp_path / "a.jsonl"))
    argv = ["env", f"KUBECONFIG={fake_kubeconfig}", sys.executable, "-m", "monotui"]
    session = start([*argv, "watch", "-c", str(cfg)])
    try:
        session.wait_for(b"reviews", 30)
        # The first poll starts with the first frame and is stuck on the route (5 s deadline),
        # then on the flags (30 s): q comes while it is in flight.
        os.write(session.master, b"q")
        deadline = time.monotonic() + 3.0  # the hanging sources would hold it for 30 s
        code = None
        while code is None and time.monotonic() < deadline:
            try:
                code = session.proc.wait(0.05)
            except subprocess.TimeoutExpired:
                continue
        assert code == 0, "monotui did not quit while its sources hang"
    finally:
        session.close()
