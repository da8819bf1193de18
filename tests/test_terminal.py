"""What the terminal gets: TERM=dumb and no terminal refused through the real CLI, ASCII where
the console or the locale cannot draw the glyphs, the mouse left alone over ssh."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from monotui.terminal import wants_ascii, wants_mouse

SSH = {"SSH_CONNECTION": "192.0.2.7 50022 192.0.2.1 22", "SSH_TTY": "/dev/pts/3"}


def _monotui(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monotui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    ("args", "plain"),
    [
        (("demo",), "monotui demo --headless"),
        (("watch", "-c", "/nonexistent/monotui.toml"), "monotui status"),
        ((), "monotui status"),
    ],
)
def test_term_dumb_is_refused_with_one_line_and_exit_2(args: tuple[str, ...], plain: str) -> None:
    done = _monotui(*args, TERM="dumb")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "TERM=dumb" in lines[0] and f"`{plain}`" in lines[0]
    # Refused before anything was read: not the missing config file's error, no screen drawn.
    assert "nonexistent" not in lines[0] and "\x1b[" not in done.stdout + done.stderr


def test_no_terminal_is_refused_too() -> None:
    # Output to a pipe (a script, a CI log): one line saying what to run instead.
    done = _monotui("demo", TERM="xterm-256color")
    assert done.returncode == 2
    assert done.stderr.startswith("monotui: the cockpit needs a terminal")
    assert "`monotui demo --headless`" in done.stderr and "\x1b[" not in done.stderr


def test_headless_demo_still_runs_on_a_dumb_terminal() -> None:
    done = _monotui("demo", "--headless", "--duration", "5", TERM="dumb")
    assert done.returncode == 0 and done.stdout


@pytest.mark.parametrize(
    ("env", "ascii"),
    [
        ({"TERM": "xterm-256color", "LANG": "C.UTF-8"}, False),
        ({"TERM": "xterm", "LANG": "en_US.UTF-8"}, False),
        ({"TERM": "linux", "LANG": "C.UTF-8"}, True),
        ({"TERM": "vt100"}, True),
        ({"TERM": "vt220-am"}, True),
        ({"TERM": "xterm-256color", "LANG": "C"}, True),
        ({"TERM": "xterm-256color", "LC_ALL": "POSIX", "LANG": "C.UTF-8"}, True),
        ({"TERM": "xterm-256color", "LANG": "en_US.ISO-8859-1"}, True),
        ({"TERM": "xterm-256color", "LC_CTYPE": "de_DE.UTF-8", "LANG": "C"}, False),
        ({"TERM": "linux", "MONOTUI_ASCII": "0"}, False),
        ({"TERM": "xterm-256color", "MONOTUI_ASCII": "1"}, True),
    ],
)
def test_ascii_where_the_glyphs_cannot_be_drawn(env: dict[str, str], ascii: bool) -> None:
    assert wants_ascii(False, env, "utf-8") is ascii


def test_ascii_when_asked_or_when_the_output_cannot_encode_the_glyphs() -> None:
    assert wants_ascii(True, {"TERM": "xterm-256color", "MONOTUI_ASCII": "0"}, "utf-8")
    assert wants_ascii(False, {"TERM": "xterm-256color"}, "ascii")
    assert not wants_ascii(False, {"TERM": "xterm-256color"}, "utf-8")


@pytest.mark.parametrize(
    ("flag", "env", "mouse"),
    [
        (False, {}, True),
        (False, SSH, False),
        (False, {"SSH_CLIENT": "192.0.2.7 50022 22"}, False),
        (True, SSH, True),
        (False, {**SSH, "MONOTUI_MOUSE": "on"}, True),
        (False, {"MONOTUI_MOUSE": "off"}, False),
        (True, {"MONOTUI_MOUSE": "off"}, True),
    ],
)
def test_mouse_is_off_over_ssh_unless_asked(flag: bool, env: dict[str, str], mouse: bool) -> None:
    assert wants_mouse(flag, env) is mouse
