"""The terminal driver that sends only changed cells: Textual's own driver with its output passed
through a `ScreenDiff` (see monotui/screens/screen_diff.py for why)."""

from __future__ import annotations

import os
import shutil
import threading
import weakref
from typing import Any

from textual.driver import Driver

from monotui.screens.screen_diff import ScreenDiff


class DiffDriver:
    """Mixed in before a Textual terminal driver: every write goes through one `ScreenDiff`.

    The terminal's size is read on every write (a system call, microseconds): a resize reaches
    the terminal before Textual repaints, and what the terminal showed is then forgotten, so the
    repaint is sent whole."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._diff = ScreenDiff()
        self._diff_lock = threading.Lock()  # writes come from the app's loop, and its threads
        _LIVE.add(self)

    def write(self, data: str) -> None:
        with self._diff_lock:
            columns, rows = shutil.get_terminal_size()
            self._diff.resize(columns, rows)
            out = self._diff.feed(data)
        if out:
            super().write(out)  # type: ignore[misc]

    def forget_screen(self) -> None:
        """What the terminal shows is not known (it was cleared, or a user asked for a redraw):
        the next frame is sent whole."""
        with self._diff_lock:
            self._diff.forget()

    def start_application_mode(self) -> None:
        self.forget_screen()  # back from a suspend: the shell drew over the screen
        super().start_application_mode()  # type: ignore[misc]


_LIVE: weakref.WeakSet[DiffDriver] = weakref.WeakSet()


def forget_screens() -> None:
    """Every diffing driver of this process forgets what its terminal shows."""
    for driver in list(_LIVE):
        driver.forget_screen()


TERMINAL_DRIVERS = ("textual.drivers.linux_driver", "textual.drivers.windows_driver")
"""Modules of the drivers that write escape sequences to a terminal (the web driver does not)."""


def diffing(
    base: type[Driver], environ: os._Environ[str] | dict[str, str] = os.environ
) -> type[Driver]:
    """`base` with its output diffed, when it is a terminal driver and MONOTUI_SCREEN_DIFF is not
    `off` (the way back to Textual's own output, to compare or if a terminal misdraws)."""
    if base.__module__ not in TERMINAL_DRIVERS or environ.get("MONOTUI_SCREEN_DIFF") == "off":
        return base
    return type(f"Diff{base.__name__}", (DiffDriver, base), {})
