"""The cockpit on a real pseudo-terminal, as a user's terminal gets it: mouse tracking left off
over ssh, nothing beyond ASCII on a Linux console, and an idle cockpit that writes little."""

from __future__ import annotations

import os
import sys
import time

import pytest

from bench.ssh_bytes import FLOOR_APP
from bench.terminal import Session, start

SSH = {"SSH_CONNECTION": "192.0.2.7 50022 192.0.2.1 22", "SSH_TTY": "/dev/pts/3"}
MOUSE_ON = b"\x1b[?1000h"
"""What Textual sends to turn mouse tracking on (with 1003/1006 after it)."""
FIRST_FRAME = b"rollouts"
FLEET_READY = b"% canary"
COCKPIT_READY = b"x: local time"
SETTLE_S = 3.0
COUNT_S = 10.0
MOST_VS_FLOOR = 25.0
"""An idle 80x24 cockpit (one poll a second) writes ~17x what a one-line app updated once a second
does: the chart rows when a column is due, and only the cells that changed elsewhere (a value, a
hold timer). Repainting whole panels and charts whenever anything in them moves writes ~36x."""


def _demo(*args: str, env: dict[str, str | None] | None = None) -> Session:
    argv = [sys.executable, "-m", "monotui", "demo", "--seed", "7", *args]
    return start(argv, (80, 24), env={"SSH_CONNECTION": None, "SSH_CLIENT": None, **(env or {})})


@pytest.mark.parametrize(
    ("args", "env", "tracked"),
    [
        ((), {}, True),
        ((), SSH, False),
        (("--mouse",), SSH, True),
    ],
)
def test_mouse_tracking_is_off_over_ssh_unless_asked(
    args: tuple[str, ...], env: dict[str, str | None], tracked: bool
) -> None:
    # Over ssh every mouse move is traffic, and tracking makes plain selection need Shift.
    session = _demo(*args, env=env)
    try:
        session.wait_for(FIRST_FRAME, 30)
        with session.lock:
            assert (MOUSE_ON in session.output) is tracked
    finally:
        session.close()


def test_a_linux_console_gets_nothing_beyond_ascii() -> None:
    session = _demo(env={"TERM": "linux", "LANG": "C.UTF-8"})
    try:
        session.wait_for(FLEET_READY, 60)
        os.write(session.master, b"\r")
        session.wait_for(COCKPIT_READY, 30)
        session.wait_for(b"verdict", 30)
        with session.lock:
            drawn = bytes(session.output)
        assert b"o canary" in drawn  # the chart's plain marker in its legend
        assert drawn.isascii(), sorted({chr(b) for b in drawn if b > 127})[:20]
    finally:
        session.close()


def test_an_idle_cockpit_repaints_only_what_changed() -> None:
    # The floor: a Textual app that updates one line a second, on a pty of the same size, at the
    # same time (same machine load). A ratio, not bytes per second: no absolute timing.
    floor = start([sys.executable, "-c", FLOOR_APP], (80, 24))
    demo = _demo()
    try:
        floor.wait_for(b"floor-ready", 60)
        demo.wait_for(FLEET_READY, 60)
        os.write(demo.master, b"\r")
        demo.wait_for(COCKPIT_READY, 30)
        time.sleep(SETTLE_S)  # the first frames are not what an idle cockpit costs
        with floor.lock, demo.lock:
            floor_before, demo_before = floor.written, demo.written
        start_t = time.monotonic()
        time.sleep(COUNT_S)  # counting what an idle terminal receives: the wait is the measurement
        with floor.lock, demo.lock:
            floor_rate = (floor.written - floor_before) / (time.monotonic() - start_t)
            demo_rate = (demo.written - demo_before) / (time.monotonic() - start_t)
        assert floor_rate > 0, "the floor app wrote nothing: the measurement is broken"
        ratio = demo_rate / floor_rate
        assert demo_rate > 0, "an idle cockpit still shows new data: it must write something"
        assert ratio <= MOST_VS_FLOOR, f"{demo_rate:.0f} B/s vs floor {floor_rate:.0f} B/s"
    finally:
        demo.close()
        floor.close()
