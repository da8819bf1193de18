"""Client-supplied text (user names, commands, TERM) made safe for a log line or a terminal."""

from __future__ import annotations

ELLIPSIS = "…"


def shown(text: str, limit: int = 64) -> str:
    """`text` in double quotes, at most `limit` characters of it, every character that could
    style, move or hide anything (controls, escapes, bidi overrides) written as a `\\x..` escape.
    """
    out: list[str] = []
    for ch in text[:limit]:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(_escape(ord(ch)))
    tail = ELLIPSIS if len(text) > limit else ""
    return '"' + "".join(out) + '"' + tail


def _escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
