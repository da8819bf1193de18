"""What the terminal can show, decided once before the cockpit opens: whether it can run at all
(not on `TERM=dumb` or without a terminal), whether to draw with ASCII only (`--ascii`, or a
console and locale that cannot draw box lines, braille and arrows), and whether to track the
mouse (not over ssh unless asked: every move is traffic, and tracking breaks plain selection).
"""

from __future__ import annotations

import codecs
import locale
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from monotui.errors import TerminalError

ASCII_TERMS = frozenset({"linux", "vt52", "vt100", "vt102", "vt220", "vt320"})
"""Terminals whose font has no braille, rounded corners or arrows (the Linux console's has few)."""
DUMB_TERMS = frozenset({"dumb"})
GLYPHS = "╭─│⣿▰▱█→⏎"
"""What the cockpit draws beyond ASCII; a locale that cannot encode them gets ASCII."""
YES = ("1", "on", "yes", "true")
NO = ("0", "off", "no", "false")


@dataclass(frozen=True, slots=True)
class Terminal:
    """How the cockpit draws on this terminal."""

    ascii: bool
    """Only ASCII characters (charts with plain markers, + - | borders, # bars, words for keys)."""
    mouse: bool
    """Mouse tracking on (clicks and scrolling work, plain selection needs Shift)."""


def _switch(value: str | None) -> bool | None:
    """An on/off environment variable: True, False, or None when unset or unreadable."""
    if value is None:
        return None
    word = value.strip().lower()
    return True if word in YES else False if word in NO else None


def locale_encoding(environ: Mapping[str, str]) -> str | None:
    """The character set of the locale the environment names (LC_ALL, then LC_CTYPE, then LANG),
    or None when it names none. Python itself may write UTF-8 under the C locale; the terminal
    behind it was set up for what the locale says."""
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = environ.get(name, "").strip()
        if value:
            break
    else:
        return None
    if value in ("C", "POSIX"):
        return "ascii"
    normal = locale.normalize(value)
    _, dot, charset = normal.partition(".")
    return charset.partition("@")[0] if dot else None


def can_encode(encoding: str | None, text: str = GLYPHS) -> bool:
    """Whether `text` can be written in `encoding` (an unknown encoding cannot)."""
    if encoding is None:
        return True
    try:
        codecs.lookup(encoding)
        text.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def wants_ascii(flag: bool, environ: Mapping[str, str], stdout_encoding: str | None) -> bool:
    """`--ascii`, else MONOTUI_ASCII (1/0), else automatic: an ASCII console (TERM=linux,
    vt100...) or a locale (or output encoding) that cannot encode the glyphs."""
    if flag:
        return True
    told = _switch(environ.get("MONOTUI_ASCII"))
    if told is not None:
        return told
    term = environ.get("TERM", "").strip().lower()
    if term.partition("-")[0] in ASCII_TERMS:
        return True
    encoding = locale_encoding(environ) or stdout_encoding
    return not can_encode(encoding)


def over_ssh(environ: Mapping[str, str]) -> bool:
    """Whether this process runs in an ssh session."""
    return any(environ.get(name) for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"))


def wants_mouse(flag: bool, environ: Mapping[str, str]) -> bool:
    """`--mouse`, else MONOTUI_MOUSE (on/off), else on except over ssh."""
    if flag:
        return True
    told = _switch(environ.get("MONOTUI_MOUSE"))
    if told is not None:
        return told
    return not over_ssh(environ)


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real file
        return False


def refuse_unusable(
    environ: Mapping[str, str], streams: Mapping[str, TextIO | None], plain: str
) -> None:
    """Raise TerminalError when the cockpit cannot run here: TERM=dumb, or one of `streams`
    (name -> stream: Textual reads keys from stdin and draws on stderr) not a terminal. `plain`
    is the command that shows the same as plain text."""
    term = environ.get("TERM", "").strip().lower()
    if term in DUMB_TERMS:
        raise TerminalError(
            f"TERM={term} cannot show the cockpit: run `{plain}` for plain text, or use a "
            "terminal such as xterm"
        )
    for name, stream in streams.items():
        if not _is_terminal(stream):
            raise TerminalError(
                f"the cockpit needs a terminal and {name} is not one: run `{plain}` for plain text"
            )


def settle(
    *,
    ascii: bool = False,
    mouse: bool = False,
    plain: str = "monotui status",
    environ: Mapping[str, str] | None = None,
) -> Terminal:
    """Refuse a terminal that cannot show the cockpit, else say how to draw on it."""
    import sys

    env = os.environ if environ is None else environ
    streams = {"stdout": sys.stdout, "stdin": sys.stdin, "stderr": sys.__stderr__}
    refuse_unusable(env, streams, plain)
    return Terminal(
        ascii=wants_ascii(ascii, env, getattr(sys.stdout, "encoding", None)),
        mouse=wants_mouse(mouse, env),
    )
