"""The real Prometheus server for tests: a free 127.0.0.1 port, a temp config and storage, readiness
by polling `/-/ready`, stop/kill/restart on the same port, and history backfilled with promtool.

Use the `prometheus` fixture (import it into the test module). A missing binary fails the test (it
never skips): CI installs the Debian package, and a developer is told how to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

READY_TIMEOUT_S = 20.0


def binary(name: str) -> str:
    """The path of `prometheus` or `promtool`; fails (never skips) when it is missing."""
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if found is None:
        where = "CI must install it (.ci/run does)" if os.environ.get("CI") == "true" else "run"
        pytest.fail(
            f"{name} is not installed: {where} 'sudo apt-get install prometheus' "
            "(the real-Prometheus tests need it; they are never skipped)",
            pytrace=False,
        )
    return found


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: object, timeout_s: float, what: str, interval_s: float = 0.02) -> None:
    """Poll `check()` until it is truthy or the deadline passes (never a blind sleep)."""
    assert callable(check)
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(interval_s)


class PrometheusServer:
    """One Prometheus process with its own config and storage under `root`."""

    def __init__(
        self,
        root: Path,
        *,
        targets: Sequence[str] = (),
        scrape_interval: str = "1s",
        port: int | None = None,
        route_prefix: str = "",
    ) -> None:
        """`route_prefix` ("/prometheus"): serve under that path (--web.route-prefix), as a
        Prometheus behind a path-routing ingress does; `url` then includes it."""
        self.root = root
        self.port = port or free_port()
        self.route_prefix = route_prefix
        self.url = f"http://127.0.0.1:{self.port}{route_prefix}"
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.config = root / "prometheus.yml"
        self.log = root / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.write_config(targets, scrape_interval)

    def write_config(self, targets: Sequence[str], scrape_interval: str = "1s") -> None:
        """Scrape `targets` (host:port) every `scrape_interval`; nothing else, not even itself."""
        lines = [
            "global:",
            f"  scrape_interval: {scrape_interval}",
            f"  evaluation_interval: {scrape_interval}",
            "scrape_configs:",
        ]
        if targets:
            lines += [
                "  - job_name: sim",
                f"    scrape_interval: {scrape_interval}",
                f"    scrape_timeout: {scrape_interval}",
                "    static_configs:",
                f"      - targets: [{', '.join(repr(t) for t in targets)}]",
            ]
        else:
            lines[-1] = "scrape_configs: []"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def backfill(self, openmetrics: str) -> None:
        """Write history as TSDB blocks (before `start()`: Prometheus loads blocks at start)."""
        text = openmetrics if openmetrics.rstrip().endswith("# EOF") else openmetrics + "# EOF\n"
        source = self.root / "backfill.om"
        source.write_text(text, encoding="utf-8")
        done = subprocess.run(
            [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", "-q"]
            + [str(source), str(self.data)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"promtool backfill failed: {done.stderr or done.stdout}"

    def start(self) -> None:
        """Start and wait for `/-/ready`; fails with the server's log if it dies first."""
        assert self.process is None or self.process.poll() is not None, "already running"
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                binary("prometheus"),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=30d",
                "--log.level=warn",
                *([f"--web.route-prefix={self.route_prefix}"] if self.route_prefix else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        wait_until(self._ready, READY_TIMEOUT_S, f"prometheus on {self.url} to be ready")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"prometheus exited with {self.process.returncode}: {self.log_tail()}"
            )
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 15) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean shutdown."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM, then wait for the process to go."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Stop (if running) and start again on the same port and storage."""
        self.stop()
        self.start()

    def query(self, promql: str, at: float | None = None) -> list[dict[str, object]]:
        """An instant query by plain HTTP, for the tests' own readiness checks."""
        params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
        body = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=5.0).json()
        assert body["status"] == "success", body
        result: list[dict[str, object]] = body["data"]["result"]
        return result


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    """A configured, not yet started Prometheus (backfill first, then `start()`); always stopped."""
    binary("prometheus")
    server = PrometheusServer(tmp_path / "prometheus")
    try:
        yield server
    finally:
        server.kill()


@contextlib.contextmanager
def backfilled(directory: Path, openmetrics: str) -> Iterator[PrometheusServer]:
    """A started Prometheus in `directory` whose history is `openmetrics`; always stopped."""
    binary("prometheus")
    server = PrometheusServer(directory)
    server.backfill(openmetrics)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class Clock:
    """The data's and the rollout's time, moved by the test (`clock.now = t`)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
