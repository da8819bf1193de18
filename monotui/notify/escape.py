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
"""

from __future__ import annotations

import re

from monotui.outside_text import literal

_MENTIONS = re.compile(r"@(?=(everyone|here|channel)\b)", re.IGNORECASE)
_SLACK = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# ASCII punctuation that Discord or Adaptive Card markdown reads as markup.
_MARKDOWN = re.compile(r"([\\*_~`|>#\-\[\]()<])")
# Fewer escapes for Adaptive Cards: they know bold, italic, lists and links only.
_CARD = re.compile(r"([\\*_\[\]()<>#\-~`])")


def plain(text: object, max_len: int = 500) -> str:
    """One literal line with broadcast mentions broken (for plain-text fields)."""
    return _MENTIONS.sub("@\u200b", literal(text, max_len=max_len))


def slack(text: object, max_len: int = 500) -> str:
    """For Slack mrkdwn and the message's `text`."""
    return "".join(_SLACK.get(ch, ch) for ch in plain(text, max_len))


def discord(text: object, max_len: int = 500) -> str:
    """For Discord's content, embed descriptions and field values."""
    return _MARKDOWN.sub(r"\\\1", plain(text, max_len))


def card(text: object, max_len: int = 500) -> str:
    """For an Adaptive Card TextBlock or Fact."""
    return _CARD.sub(r"\\\1", plain(text, max_len))
