"""A real terminal to compare pictures: tmux plays a recorded output stream into a detached pane
of a given size and reports what the pane shows (each cell's character and colours) and where its
cursor is. `RecordingDriver` (picked with TEXTUAL_DRIVER) records what Textual writes and what
the ScreenDiff sends instead, write by write, so the two streams can be played side by side.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from textual.drivers.linux_driver import LinuxDriver

from monotui.screens.screen_diff import ScreenDiff

TMUX = shutil.which("tmux") or "tmux"
RAW_ENV, SENT_ENV = "MONOTUI_TEST_RAW", "MONOTUI_TEST_SENT"
"""Where RecordingDriver appends what Textual wrote and what was sent instead."""


def _append(path: str, data: str) -> None:
    encoded = data.encode("utf-8")
    with open(path, "ab") as file:
        file.write(struct.pack(">I", len(encoded)) + encoded)


def read_writes(path: Path) -> list[bytes]:
    """The writes recorded in `path`, in order."""
    blob, writes, at = path.read_bytes(), [], 0
    while at < len(blob):
        (size,) = struct.unpack(">I", blob[at : at + 4])
        writes.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
    return writes


class RecordingDriver(LinuxDriver):
    """Textual's terminal driver, its output diffed like the cockpit's, both streams recorded."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._diff = ScreenDiff()
        self._raw, self._sent = os.environ[RAW_ENV], os.environ[SENT_ENV]

    def write(self, data: str) -> None:
        columns, rows = shutil.get_terminal_size()
        self._diff.resize(columns, rows)
        out = self._diff.feed(data)
        _append(self._raw, data)
        _append(self._sent, out)
        if out:
            super().write(out)


class TmuxScreen:
    """A detached tmux server of its own with one pane of `size`, for playing streams into."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="monotui-tmux-"))
        self.socket = str(self.folder / "socket")
        self.size = size
        self._n = 0
        # A session that stays: the server lives between the pictures (one that exits as the
        # last session goes races the next one's start on the socket).
        self._tmux("new-session", "-d", "-s", "keep", "sleep 3600")

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            [TMUX, "-S", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def show(self, stream: bytes) -> tuple[str, str]:
        """What a fresh pane shows after `stream`: its cells with their colours (tmux's own
        capture) and its cursor position ("hidden" when the cursor is hidden: it shows nothing)."""
        return self._play(stream, ("-e", "-N"), "#{?cursor_flag,#{cursor_x}:#{cursor_y},hidden}")

    def text(self, stream: bytes) -> str:
        """The characters a fresh pane shows after `stream`, row by row."""
        return self._play(stream, (), "")[0]

    def _play(self, stream: bytes, capture: tuple[str, ...], cursor: str) -> tuple[str, str]:
        self._n += 1
        name = f"s{self._n}"
        data = self.folder / f"{name}.bin"
        data.write_bytes(stream)
        columns, rows = self.size
        # The pane plays the stream, says so, and stays (its picture is read while it lives).
        script = f"cat {data}; tmux -S {self.socket} wait-for -S {name}; sleep 600"
        self._tmux("new-session", "-d", "-s", name, "-x", str(columns), "-y", str(rows), script)
        self._tmux("set-option", "-t", name, "status", "off")
        self._tmux("wait-for", name)
        picture = self._tmux("capture-pane", "-p", *capture, "-t", name)
        where = self._tmux("display-message", "-p", "-t", name, cursor) if cursor else ""
        self._tmux("kill-session", "-t", name)
        data.unlink()
        return picture, where.strip()

    def close(self) -> None:
        subprocess.run([TMUX, "-S", self.socket, "kill-server"], capture_output=True, timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def played(writes: Sequence[bytes], upto: int) -> bytes:
    """The stream of the first `upto` writes."""
    return b"".join(writes[:upto])


def wait_for(predicate: object, timeout_s: float = 30.0) -> None:
    """Poll `predicate()` until it is true or the deadline passes (then AssertionError)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)
