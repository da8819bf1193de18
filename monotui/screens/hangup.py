"""Leaving the way `q` does when the terminal goes away or the process is told to stop.

- SIGHUP (an ssh session dropped, a tmux pane killed) and SIGTERM end the app with 129 and 143
  (128 + the signal, as a shell reports it) instead of killing it: the rollouts are closed the
  way `q` closes them (the probes' header routes this process added are removed, connections
  released), and the weights stay as they are.
- A terminal that hung up without a SIGHUP reaching us (we were not in its foreground process
  group) is noticed within HANGUP_CHECK_S: asking a hung-up terminal for its attributes fails.
  Otherwise Textual's input thread would read end-of-file from it for ever, at most of a core.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import termios
from typing import Any

from textual.app import App

HANGUP_CHECK_S = 1.0
EXIT_CODES = {signal.SIGHUP: 128 + signal.SIGHUP, signal.SIGTERM: 128 + signal.SIGTERM}


def leave_on_hangup(app: App[Any]) -> None:
    """Call from `on_mount`: SIGHUP and SIGTERM, and a terminal that hung up, end `app` with
    128 + the signal (SIGHUP's for a hung-up terminal)."""
    if app.is_headless:
        return  # a test's app: the signals are the test runner's (its timeout's SIGTERM too)
    loop = asyncio.get_running_loop()
    for signum, code in EXIT_CODES.items():
        # Not on the main thread, or not on this platform: nothing to catch. The handlers go
        # with the loop, which `App.run` closes on the way out.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, _leave, app, code)
    stream = sys.__stdin__
    fd = stream.fileno() if stream is not None else -1
    if fd < 0 or not _attributes_answer(fd):
        return  # not a terminal to begin with (Textual then reads nothing from it either)

    def check() -> None:
        if not _attributes_answer(fd):
            _leave(app, EXIT_CODES[signal.SIGHUP])

    app.set_interval(HANGUP_CHECK_S, check, name="hangup check")


def _attributes_answer(fd: int) -> bool:
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return False
    return True


def _leave(app: App[Any], code: int) -> None:
    if app.is_running:
        app.exit(return_code=code)
