"""The screen diff sends only changed cells, and a real terminal (tmux) shows exactly the same
picture from what it sends as from everything Textual wrote: the cockpit's own output recorded on
a pty, and frames made to break it (double-width characters, styles, partial rows)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from monotui.screens.screen_diff import ScreenDiff
from tests.screen_replay import RAW_ENV, SENT_ENV, TmuxScreen, played, read_writes, wait_for
from tests.ssh_helpers import ROOT, SshTerminal

SIZE = (40, 6)
ALT = "\x1b[?1049h"
STYLES = ("", "\x1b[1;38;5;24;48;5;233m", "\x1b[38;5;112m", "\x1b[7m")


@pytest.fixture(scope="module")
def tmux() -> Iterator[TmuxScreen]:
    screen = TmuxScreen(SIZE)
    yield screen
    screen.close()


def row(y: int, x: int, *parts: tuple[str, str]) -> str:
    """Textual's way to draw: a cursor move, then each segment with its style and a reset."""
    out = f"\x1b[{y + 1};{x + 1}H"
    for style, text in parts:
        out += f"{style}{text}\x1b[0m" if style else text
    return out


def both(frames: list[str], size: tuple[int, int] = SIZE) -> tuple[str, str]:
    """The whole stream Textual wrote, and what the diff sends for it, write by write."""
    diff = ScreenDiff(*size)
    return "".join(frames), "".join(diff.feed(frame) for frame in frames)


def test_a_changed_figure_at_the_right_of_a_row_is_sent_alone(tmux: TmuxScreen) -> None:
    label = ("\x1b[38;5;246;48;5;233m", "bookinfo  reviews   Progressing ")
    first = ALT + row(1, 0, label, (STYLES[2], "0.76%"))
    second = row(1, 0, label, (STYLES[2], "0.42%")) + "\x1b[1;1H"
    diff = ScreenDiff(*SIZE)
    sent = diff.feed(first)
    again = diff.feed(second)
    assert again == "\x1b[2;35H\x1b[38;5;112m42\x1b[1;1H\x1b[0m"  # two digits, one move
    assert tmux.show((first + second).encode()) == tmux.show((sent + again).encode())


def test_an_unchanged_frame_sends_nothing_not_even_its_sync() -> None:
    frame = ALT + row(0, 0, (STYLES[1], "checkout")) + "\x1b[1;5H"
    diff = ScreenDiff(*SIZE)
    assert diff.feed(frame)
    assert diff.feed("\x1b[?2026h") == ""
    assert diff.feed(row(0, 0, (STYLES[1], "checkout")) + "\x1b[1;5H") == ""
    assert diff.feed("\x1b[?2026l") == ""


def test_a_hidden_cursor_is_moved_only_when_textual_moves_it() -> None:
    diff = ScreenDiff(*SIZE)
    diff.feed("\x1b[?25l" + ALT + row(0, 0, ("", "hold 00:10")) + "\x1b[3;1H")
    assert diff.feed(row(0, 0, ("", "hold 00:20")) + "\x1b[3;1H") == "\x1b[1;9H2"
    assert diff.feed(row(0, 0, ("", "hold 00:20")) + "\x1b[4;2H") == "\x1b[4;2H"
    diff.feed("\x1b[?25h")  # shown: it goes back after every change
    assert diff.feed(row(0, 0, ("", "hold 00:30")) + "\x1b[4;2H") == "\x1b[1;9H3\x1b[4;2H"


def test_what_moves_the_cursor_relatively_starts_where_textuals_output_would(
    tmux: TmuxScreen,
) -> None:
    frames = [
        ALT + row(0, 0, ("", "abcdef")) + "\n" + "ghi",  # a line feed, then text without a move
        row(0, 0, ("", "abcdeX")) + "\x1b[2D" + "Y",  # cells skipped, then a move left
        row(1, 0, ("", "ghi")) + "\r" + "Z" + "\x1b[3;1H",
    ]
    raw, sent = both(frames)
    assert tmux.show(raw.encode()) == tmux.show(sent.encode())


def test_a_new_size_or_an_erase_sends_the_next_frame_whole(tmux: TmuxScreen) -> None:
    frame = row(0, 0, (STYLES[1], "checkout"), ("", " 10 %"))
    diff = ScreenDiff(*SIZE)
    diff.feed(ALT + frame)
    diff.resize(SIZE[0] + 1, SIZE[1])
    assert "checkout" in diff.feed(frame)
    diff.resize(*SIZE)
    diff.feed(frame)
    assert diff.feed("\x1b[2J") == "\x1b[2J"  # passed through, and forgotten
    assert "checkout" in diff.feed(frame)


def test_double_width_characters_are_never_cut_in_half(tmux: TmuxScreen) -> None:
    frames = [
        ALT + row(2, 0, ("", "ab日本cd"), (STYLES[3], "x")),
        row(2, 0, ("", "abX本cd"), (STYLES[3], "x")),  # a narrow over the left half
        row(2, 0, ("", "abXY日d"), (STYLES[3], "x")),  # a wide over the old right half
        row(2, 0, ("", "a日Y日d"), (STYLES[3], "y")),
        row(2, 0, ("", "a日Y日d"), (STYLES[3], "y")),
    ]
    raw, sent = both(frames)
    assert tmux.show(raw.encode()) == tmux.show(sent.encode())


TEXT = st.text(alphabet="ab .%│⣀⣿▂日本é", min_size=1, max_size=12)
SEGMENTS = st.lists(st.tuples(st.sampled_from(STYLES), TEXT), min_size=1, max_size=4)
ODD = st.sampled_from(["", "", "", "\x1b[K", "\x1b[2D", "\n", "\r", "\x1b[?25h", "\x1b]0;t\x07"])
"""What Textual does not write between cells, but a terminal must get right: erase to the end
of the line (in the current background), relative moves, a line feed, modes, a title."""
UPDATE = st.tuples(
    st.integers(0, SIZE[1] - 1), st.integers(0, 20), SEGMENTS, ODD, st.sampled_from(STYLES)
)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(UPDATE, min_size=1, max_size=5), min_size=2, max_size=6))
def test_any_sequence_of_partial_rows_shows_the_same_picture(
    tmux: TmuxScreen, frames: list[list[tuple[int, int, list[tuple[str, str]], str, str]]]
) -> None:
    written = [ALT]
    for updates in frames:
        frame = ""
        for y, x, segments, odd, style in updates:
            fitting, room = [], SIZE[0] - x  # Textual never writes past the edge
            for style, text in segments:
                kept = ""
                for char in text:
                    if cell_len(kept + char) > room:
                        break
                    kept += char
                room -= cell_len(kept)
                fitting.append((style, kept))
            frame += row(y, x, *fitting)
            if odd:  # in a style left on, then a character where the cursor went
                frame += f"{style}{odd}z\x1b[0m"
        written.append(frame + "\x1b[1;1H")
    raw, sent = both(written)
    assert tmux.show(raw.encode()) == tmux.show(sent.encode())


def test_the_cockpit_over_a_pty_draws_the_same_picture_with_a_fraction_of_the_bytes() -> None:
    size = (100, 30)
    with tempfile.TemporaryDirectory() as folder:
        raw_path, sent_path = Path(folder) / "raw", Path(folder) / "sent"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": folder,
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
            "TEXTUAL_DRIVER": "tests.screen_replay:RecordingDriver",
            RAW_ENV: str(raw_path),
            SENT_ENV: str(sent_path),
        }
        argv = [sys.executable, "-m", "monotui", "demo", "--speed", "10", "--seed", "7"]
        term = SshTerminal(argv, env, size)
        try:
            term.expect(rb"% canary", timeout_s=60)
            mark = term.mark
            term.send(b"\r")
            term.expect(rb"x: local time", timeout_s=30, after=mark)
            # A few polls of the cockpit, the help over it and back, the flags focused.
            writes = len(read_writes(sent_path))
            wait_for(lambda: len(read_writes(sent_path)) > writes + 12)
            mark = term.mark
            term.send(b"?")
            term.expect(rb"Panels", timeout_s=30, after=mark)
            term.send(b"\x1b")
            writes = len(read_writes(sent_path))
            wait_for(lambda: len(read_writes(sent_path)) > writes + 12)
            term.send(b"f")
            writes = len(read_writes(sent_path))
            wait_for(lambda: len(read_writes(sent_path)) > writes + 6)
        finally:
            term.close()
        raw, sent = read_writes(raw_path), read_writes(sent_path)
    assert len(raw) == len(sent)
    screen = TmuxScreen(size)
    try:
        # The picture after every eighth write, and after the last.
        for upto in [*range(8, len(raw), max(1, len(raw) // 8)), len(raw)]:
            assert screen.show(played(raw, upto)) == screen.show(played(sent, upto)), upto
    finally:
        screen.close()
    assert sum(map(len, sent)) < sum(map(len, raw)) / 2


def test_the_driver_is_textuals_own_when_asked_or_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from textual.drivers.headless_driver import HeadlessDriver
    from textual.drivers.linux_driver import LinuxDriver

    from monotui.screens.diff_driver import DiffDriver, diffing

    assert issubclass(diffing(LinuxDriver, {}), DiffDriver)
    assert diffing(LinuxDriver, {"MONOTUI_SCREEN_DIFF": "off"}) is LinuxDriver
    assert diffing(HeadlessDriver, {}) is HeadlessDriver
    from monotui.app import MonotuiApp

    monkeypatch.delenv("MONOTUI_SCREEN_DIFF", raising=False)
    assert issubclass(MonotuiApp().driver_class, DiffDriver)  # what the cockpit runs with
