"""Run a command in a real pseudo-terminal, like a user's terminal: time its first frame, read its
CPU time and memory from /proc. Used by the first-frame, CPU and memory benchmarks."""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monotui.screens.screen_diff import ScreenDiff

FLOOR_APP = '''
from textual.app import App, ComposeResult
from textual.widgets import Static
from textual_plotext import PlotextPlot

class Floor(App[None]):
    """The floor: one plotext chart, replotted every second, and a marker."""

    def compose(self) -> ComposeResult:
        yield Static("floor-ready")
        yield PlotextPlot()

    def on_mount(self) -> None:
        self.n = 0
        self.replot()
        self.set_interval(1.0, self.replot)

    def replot(self) -> None:
        self.n += 1
        plot = self.query_one(PlotextPlot)
        plot.plt.clear_data()
        plot.plt.plot([i for i in range(self.n, self.n + 100)], [(i * 7919) % 13 for i in range(100)])
        plot.refresh()

Floor().run()
'''


@dataclass
class Session:
    """A process on a pty whose output is drained by a thread (so it never blocks on writing)."""

    proc: subprocess.Popen[bytes]
    master: int
    started: float
    output: bytearray = field(default_factory=bytearray)
    lock: threading.Lock = field(default_factory=threading.Lock)
    written: int = 0
    """Bytes the process wrote to the terminal so far (`output` keeps only the last 200 KB)."""
    screen: ScreenDiff = field(default_factory=ScreenDiff)
    """What the terminal shows, cell by cell: the output played on a model of it (monotui sends
    only the cells that change, so a text on screen need not be in the bytes in one piece)."""
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace")
    )

    def wait_for(self, marker: bytes, timeout_s: float = 30.0) -> float:
        """Seconds from start until `marker` was written to the terminal."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if marker in self.output:
                    return time.monotonic() - self.started
            if self.proc.poll() is not None:
                break
            time.sleep(0.002)  # a benchmark polling a pty, not a test
        raise RuntimeError(f"{marker!r} never appeared; output tail: {bytes(self.output[-400:])!r}")

    def shown(self) -> list[str]:
        """The rows of the screen now."""
        with self.lock:
            return self.screen.rows()

    def wait_shown(self, text: str, timeout_s: float = 30.0, *, gone: bool = False) -> float:
        """Seconds from start until a row of the screen shows `text` (`gone`: until none does)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in row for row in self.shown()) != gone:
                return time.monotonic() - self.started
            if self.proc.poll() is not None:
                break
            time.sleep(0.002)  # a benchmark polling a pty, not a test
        state = "still shown" if gone else "never shown"
        raise RuntimeError(f"{text!r} {state}; the screen: {self.shown()!r}")

    def cpu_s(self) -> float:
        """User + system CPU seconds of the process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def rss_mb(self) -> float:
        """Resident memory in MB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def start(
    argv: list[str], size: tuple[int, int] = (120, 40), env: Mapping[str, str | None] | None = None
) -> Session:
    """Start `argv` on a fresh pty of `size` (columns, rows); `env` changes the environment
    (TERM=xterm-256color unless it says otherwise; None removes a variable)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    changes = {"TERM": "xterm-256color", "COLUMNS": str(size[0]), "LINES": str(size[1])}
    changes.update(env or {})
    merged: dict[str, str | None] = {**os.environ, **changes}
    merged.pop("TEXTUAL", None)
    child_env = {k: v for k, v in merged.items() if v is not None}
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=child_env, start_new_session=True
    )
    os.close(slave)
    session = Session(proc, master, started)

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with session.lock:
                session.written += len(chunk)
                session.output += chunk
                del session.output[:-200_000]
                session.screen.feed(session.decoder.decode(chunk))

    threading.Thread(target=drain, daemon=True).start()
    return session


def floor_argv() -> list[str]:
    """The minimal Textual app with one plotext chart."""
    return [sys.executable, "-c", FLOOR_APP]


def demo_argv(*extra: str) -> list[str]:
    """`monotui demo` with this interpreter."""
    return [sys.executable, "-m", "monotui", "demo", *extra]
