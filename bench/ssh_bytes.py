"""Bytes per second an idle demo cockpit sends over a real ssh session, against a floor.

The floor is a minimal Textual app with one Static updated once a second, served by the same ssh
demo host and read by the same OpenSSH client on a pty of the same size, in the same run. For
each of 80x24 and 200x60: wait for the first frame, let it settle, then count what reaches the
client's pty in 20 s. Also prints each session child's CPU and memory and the server's own CPU
(the relay and the encryption), which say how many visitors a machine holds. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import asyncssh

from monotui.serve.choices import Choice
from monotui.serve.policy import DemoHost, HostSettings, demo_argv
from monotui.serve.ssh_server import listen, stop_all
from tests.ssh_helpers import SshTerminal, client_env, client_key, ssh_argv

SIZES = ((80, 24), (200, 60))
SETTLE_S = 3.0
COUNT_S = 20.0
DEMO_READY = rb"% canary"
"""The fleet rows show data: the world was built and polled."""
FLOOR_READY = rb"floor-ready"
COCKPIT_READY = rb"x: local time"
"""A chart's title: enter on the fleet opened the first rollout's cockpit."""

FLOOR_APP = '''
from textual.app import App, ComposeResult
from textual.widgets import Static

class Floor(App[None]):
    """The floor: one Static, updated once a second."""

    def compose(self) -> ComposeResult:
        yield Static("floor-ready 0")

    def on_mount(self) -> None:
        self.n = 0
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        self.n += 1
        self.query_one(Static).update(f"floor-ready {self.n}")

Floor().run()
'''


def floor_argv(_: Choice) -> list[str]:
    return [sys.executable, "-c", FLOOR_APP]


class HostThread:
    """The ssh demo host in this process, on its own event loop in a thread."""

    def __init__(self, child_argv: Callable[[Choice], list[str]]) -> None:
        self._child_argv = child_argv
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.host: DemoHost | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),))
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the ssh demo host did not start")

    async def _main(self) -> None:
        settings = HostSettings(max_sessions=2, max_per_client=2, child_argv=self._child_argv)
        self.host = DemoHost(settings, out=io.StringIO())
        key = asyncssh.generate_private_key("ssh-ed25519")
        acceptor = await listen("127.0.0.1", 0, key, self.host)
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        acceptor.close()
        await stop_all(self.host)

    @property
    def port(self) -> int:
        assert self.host is not None
        return self.host.port

    def child_pid(self) -> int:
        assert self.host is not None
        (session,) = list(self.host.live)
        pid = session.record.child_pid
        assert pid is not None
        return pid

    def close(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        self._loop.close()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(
    host: HostThread,
    ready: bytes,
    size: tuple[int, int],
    home: Path,
    open_cockpit: bool = False,
    count_s: float = COUNT_S,
) -> dict[str, float]:
    """Bytes/s reaching the client's pty while idle, and what the session costs."""
    key = client_key(home)
    term = SshTerminal(ssh_argv(host.port, key, "-tt"), client_env(home), size)
    try:
        term.expect(ready, timeout_s=60)
        if open_cockpit:
            mark = term.mark
            term.send(b"\r")
            term.expect(COCKPIT_READY, timeout_s=30, after=mark)
        # Settling: the first frames and the first data are not what an idle session costs.
        time.sleep(SETTLE_S)
        pid = host.child_pid()
        start_bytes, start = term.mark, time.monotonic()
        child_cpu, server_cpu = _cpu_s(pid), time.process_time()
        time.sleep(count_s)
        elapsed = time.monotonic() - start
        sent = term.mark - start_bytes
        return {
            "bytes_per_s": sent / elapsed,
            "child_cpu": (_cpu_s(pid) - child_cpu) / elapsed,
            "server_cpu": (time.process_time() - server_cpu) / elapsed,
            "child_rss_mb": _rss_mb(pid),
        }
    finally:
        term.close()


def _rate(bytes_per_s: float) -> str:
    return f"{bytes_per_s / 1000:.1f} KB/s" if bytes_per_s >= 1000 else f"{bytes_per_s:.0f} B/s"


def _report(
    name: str, screen: str, floor: dict[str, float], demo: dict[str, float]
) -> dict[str, float]:
    ratio = demo["bytes_per_s"] / max(floor["bytes_per_s"], 1.0)
    goal = "1 KB/s" if screen == "fleet" or name == "80x24" else "4 KB/s"
    print(
        f"ssh idle {name} {screen}: floor {_rate(floor['bytes_per_s'])}, demo "
        f"{_rate(demo['bytes_per_s'])}, ratio {ratio:.1f}x (issue 16 goal: {goal}); demo child "
        f"{demo['child_cpu'] * 100:.0f} % of a core, {demo['child_rss_mb']:.0f} MB; "
        f"server relay {demo['server_cpu'] * 100:.1f} % of a core "
        f"(floor child {floor['child_cpu'] * 100:.0f} %)",
        flush=True,
    )
    return {
        "floor_bytes_per_s": floor["bytes_per_s"],
        "demo_bytes_per_s": demo["bytes_per_s"],
        "ratio": ratio,
        **{f"demo_{k}": v for k, v in demo.items() if k != "bytes_per_s"},
    }


def main(
    sizes: tuple[tuple[int, int], ...] = SIZES,
    screens: tuple[str, ...] = ("fleet", "cockpit"),
    count_s: float = COUNT_S,
) -> dict[str, dict[str, float]]:
    """One line per size and screen: floor and demo bytes/s, their ratio, the session's cost."""
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        floor_host, demo_host = HostThread(floor_argv), HostThread(demo_argv)
        try:
            for columns, rows in sizes:
                name = f"{columns}x{rows}"
                floor = measure(floor_host, FLOOR_READY, (columns, rows), home, count_s=count_s)
                for screen in screens:
                    demo = measure(
                        demo_host,
                        DEMO_READY,
                        (columns, rows),
                        home,
                        screen == "cockpit",
                        count_s,
                    )
                    results[f"{name} {screen}"] = _report(name, screen, floor, demo)
        finally:
            floor_host.close()
            demo_host.close()
    return results


def _size(text: str) -> tuple[int, int]:
    columns, _, rows = text.partition("x")
    if not (columns.isdigit() and rows.isdigit()):
        raise argparse.ArgumentTypeError(f"a size is COLUMNSxROWS, like 80x24; got {text}")
    return int(columns), int(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--size", type=_size, action="append", help="COLUMNSxROWS (repeatable; 80x24, 200x60)"
    )
    parser.add_argument("--screen", choices=("fleet", "cockpit"), action="append")
    parser.add_argument("--seconds", type=float, default=COUNT_S, help="how long to count")
    args = parser.parse_args()
    main(tuple(args.size or SIZES), tuple(args.screen or ("fleet", "cockpit")), args.seconds)
