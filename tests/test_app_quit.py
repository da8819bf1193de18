"""Quitting leaves the rollout as it is: no rollback, no half-applied change, nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from textual.worker import WorkerState

from bench.terminal import start
from tests.test_app_support import demo_app, open_cockpit, settle, weights


async def test_quit_keeps_the_weights_and_stops_every_worker() -> None:
    demo, app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_cockpit(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert weights(demo).canary == 5
        events = len(demo.rollout("checkout").events())
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running
    assert all(w.state not in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers)
    # The world after the app: still at 5 %, nothing was written or logged on the way out.
    assert weights(demo).canary == 5 and weights(demo, "reviews").canary == 10
    assert len(demo.rollout("checkout").events()) == events


def _exit_code(keys: bytes, wait_for: bytes, timeout_s: float = 20.0) -> int:
    """Start `monotui demo` on a pty, type `keys` once `wait_for` shows; its exit code."""
    session = start([sys.executable, "-m", "monotui", "demo", "--seed", "7"])
    try:
        session.wait_for(wait_for, timeout_s)
        os.write(session.master, keys)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                return session.proc.wait(0.05)  # waits for the exit, up to the deadline
            except subprocess.TimeoutExpired:
                continue
        raise AssertionError(f"monotui demo did not exit after {keys!r}")
    finally:
        session.close()


def test_monotui_demo_exits_cleanly_on_q() -> None:
    # A real terminal: q after the rows show; the process ends with 0 (no thread keeps it alive).
    assert _exit_code(b"q", b"% canary") == 0


def test_monotui_demo_exits_cleanly_on_q_while_starting() -> None:
    # q in the very first frame, while the world is still being built in its thread.
    assert _exit_code(b"q", b"rollouts") == 0
