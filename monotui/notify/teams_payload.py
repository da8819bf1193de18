"""Microsoft Teams' shape: a Workflows webhook ("When a Teams webhook request is received") takes
a message with one Adaptive Card attachment (version 1.4; the retired Office 365 connector
MessageCard is not sent). Outside text is escaped for the card's markdown (`escape.card`)."""

from __future__ import annotations

from typing import Any

from monotui.notify import escape
from monotui.notify.message import Message
from monotui.notify.wording import facts
from monotui.status import iso

CARD_VERSION = "1.4"
_COLORS = {"error": "Attention", "warn": "Warning", "info": "Default"}


def payload(messages: list[Message]) -> dict[str, Any]:
    """The Workflows webhook's body for one message or a burst of them (same rollout)."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card(messages),
            }
        ],
    }


def card(messages: list[Message]) -> dict[str, Any]:
    newest = messages[-1]
    body: list[dict[str, Any]] = []
    for m in messages:
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
        body.append({"type": "TextBlock", "text": escape.card(m.text, 1500), "wrap": True})
        extra = []
        if m.reason and m.reason not in m.text:
            extra.append({"title": "reason", "value": escape.card(m.reason, 1000)})
        if m.who:
            extra.append({"title": "by", "value": escape.card(m.who, 200)})
        if extra:
            body.append({"type": "FactSet", "facts": extra})
    body.append(
        {
            "type": "FactSet",
            "facts": [
                {"title": label, "value": escape.card(value, 1000)}
                for label, value in facts(newest.numbers)
            ],
        }
    )
    where = f"{newest.namespace} @ {newest.context}" if newest.context else newest.namespace
    body.append(
        {
            "type": "TextBlock",
            "text": escape.card(f"monotui · {newest.rollout} in {where} · {iso(newest.time)}"),
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
        }
    )
    if newest.command:
        body.append(
            {
                "type": "TextBlock",
                "text": escape.card(f"To act: {newest.command}"),
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
