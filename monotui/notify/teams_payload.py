"""Microsoft Teams' shape: a Workflows webhook ("When a Teams webhook request is received") takes
a message with one Adaptive Card attachment (version 1.4; the retired Office 365 connector
MessageCard is not sent). Outside text is escaped for the card's markdown (`escape.card`).

Teams refuses a message past about 28 KB (HTTP 413, and the whole burst would be lost), counting
it as UTF-16: a body stays within `MAX_CHARS` characters of JSON. A burst that would not fits by
shortening its older messages (then showing only their titles, then only the newest, counted).
"""

from __future__ import annotations

import json
from typing import Any

from monotui.notify import escape
from monotui.notify.message import Message
from monotui.notify.wording import facts
from monotui.status import iso

CARD_VERSION = "1.4"
MAX_CHARS = 12_000
"""Of the JSON body (ASCII: every other character is escaped): 24 KB as UTF-16."""
_COLORS = {"error": "Attention", "warn": "Warning", "info": "Default"}
# How much of each message's text and reason: (newest's, older ones'); None leaves older ones
# to their titles. Tried in order until the body fits.
_SHAPES: tuple[tuple[tuple[int, int], tuple[int, int] | None], ...] = (
    ((1500, 1000), (1500, 1000)),
    ((1500, 1000), (300, 0)),
    ((1500, 1000), None),
    ((600, 300), None),
)


def payload(messages: list[Message]) -> dict[str, Any]:
    """The Workflows webhook's body for one message or a burst of them (same rollout)."""
    for newest, older in _SHAPES:
        body = _message(card(messages, newest=newest, older=older))
        if _chars(body) <= MAX_CHARS:
            return body
    return _message(card(messages[-1:], newest=(300, 0), older=None, left_out=len(messages) - 1))


def _chars(body: dict[str, Any]) -> int:
    return len(json.dumps(body, allow_nan=False))


def _message(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": content,
            }
        ],
    }


def card(
    messages: list[Message],
    *,
    newest: tuple[int, int] = (1500, 1000),
    older: tuple[int, int] | None = (1500, 1000),
    left_out: int = 0,
) -> dict[str, Any]:
    """The Adaptive Card; `newest` and `older` say how many characters of text and reason each
    message shows (older None: their titles only); `left_out` counts messages not shown."""
    last = messages[-1]
    body: list[dict[str, Any]] = []
    if left_out:
        body.append(_subtle(f"(+{left_out} earlier, not shown)"))
    for m in messages:
        shape = newest if m is last else older
        body.append(
            {
                "type": "TextBlock",
                "text": escape.card(m.title, 200),
                "weight": "Bolder",
                "size": "Medium",
                "color": _COLORS.get(m.level, "Default"),
                "wrap": True,
            }
        )
        if shape is None:
            continue
        text_len, reason_len = shape
        if text_len:
            body.append({"type": "TextBlock", "text": escape.card(m.text, text_len), "wrap": True})
        extra = []
        if reason_len and m.reason and m.reason not in m.text:
            extra.append({"title": "reason", "value": escape.card(m.reason, reason_len)})
        if m.who:
            extra.append({"title": "by", "value": escape.card(m.who, 200)})
        if extra:
            body.append({"type": "FactSet", "facts": extra})
    body.append(
        {
            "type": "FactSet",
            "facts": [
                {"title": label, "value": escape.card(value, 1000)}
                for label, value in facts(last.numbers)
            ],
        }
    )
    where = f"{last.namespace} @ {last.context}" if last.context else last.namespace
    body.append(_subtle(f"monotui · {last.rollout} in {where} · {iso(last.time)}"))
    if last.command:
        body.append(
            {
                "type": "TextBlock",
                "text": escape.card(f"To act: {last.command}"),
                "fontType": "Monospace",
                "wrap": True,
            }
        )
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }


def _subtle(text: str) -> dict[str, Any]:
    return {
        "type": "TextBlock",
        "text": escape.card(text),
        "isSubtle": True,
        "size": "Small",
        "wrap": True,
    }
