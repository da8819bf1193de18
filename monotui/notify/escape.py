"""Outside text escaped for each platform's markup, so a flag key, an annotation or an error
message shows as exactly what it is: it cannot bold, link, quote, or mention anyone.

Every function first makes the text one literal line (`outside_text.literal`: no control or
bidi characters) and breaks the broadcast mentions (@everyone, @here, @channel) with a zero-width
space after the @, then escapes the platform's own markup:

- Slack mrkdwn: `&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;` (what Slack documents; `<!channel>`,
  `<@U123>` and `<url|text>` all need a raw `<`). Text objects also set `verbatim` so Slack does
  not link names or channels by itself.
- Discord markdown and Adaptive Card text (CommonMark-like): every markup character with a
  backslash, which both render as the plain character.

`max_len` bounds what the platform counts, the escaped text: an escape is never cut in half, and a
cut is marked with "…". (Escaping first and cutting after could leave `&am`; cutting first and
escaping after could double the length past a platform's limit, and the platform would refuse the
whole message.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from monotui.outside_text import ELLIPSIS, literal

_MENTIONS = re.compile(r"@(?=(everyone|here|channel)\b)", re.IGNORECASE)
_SLACK = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# ASCII punctuation that Discord or Adaptive Card markdown reads as markup.
_MARKDOWN = frozenset("\\*_~`|>#-[]()<")
# Fewer escapes for Adaptive Cards: they know bold, italic, lists and links only.
_CARD = frozenset("\\*_[]()<>#-~`")


def plain(text: object, max_len: int = 500) -> str:
    """One literal line with broadcast mentions broken (for plain-text fields)."""
    line = _MENTIONS.sub("@\u200b", literal(text, max_len=max_len))
    return line if len(line) <= max_len else _fit(line, lambda ch: ch, max_len)


def slack(text: object, max_len: int = 500) -> str:
    """For Slack mrkdwn and the message's `text`."""
    return _fit(plain(text, max_len), lambda ch: _SLACK.get(ch, ch), max_len)


def discord(text: object, max_len: int = 500) -> str:
    """For Discord's content, embed descriptions and field values."""
    return _fit(plain(text, max_len), lambda ch: "\\" + ch if ch in _MARKDOWN else ch, max_len)


def card(text: object, max_len: int = 500) -> str:
    """For an Adaptive Card TextBlock or Fact."""
    return _fit(plain(text, max_len), lambda ch: "\\" + ch if ch in _CARD else ch, max_len)


def _fit(line: str, escape: Callable[[str], str], max_len: int) -> str:
    """`line` escaped character by character, at most `max_len` characters in all."""
    pieces = [escape(ch) for ch in line]
    if sum(map(len, pieces)) <= max_len:
        return "".join(pieces)
    out: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > max_len - len(ELLIPSIS):
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + ELLIPSIS
