"""Discord's shape: an execute-webhook body with `content` (the notification line) and up to 10
`embeds` (one per message, the newest with the numbers as fields), and `allowed_mentions` with
nothing to parse, so no text can ping anyone. Outside text is escaped for Discord's markdown.

Limits kept: content 2000 characters, an embed's title 256 and description 4096, 25 fields of
name 256 and value 1024, 10 embeds, 6000 characters over all embeds.
"""

from __future__ import annotations

from typing import Any

from monotui.notify import escape
from monotui.notify.message import Message
from monotui.notify.wording import facts
from monotui.status import iso

MAX_EMBEDS = 10
_COLORS = {"error": 0xD73A49, "warn": 0xE3B341, "info": 0x2F81F7}


def payload(messages: list[Message]) -> dict[str, Any]:
    """The webhook's body for one message or a burst of them (same rollout)."""
    newest = messages[-1]
    shown = messages[-MAX_EMBEDS:]
    more = f" (+{len(messages) - 1} more)" if len(messages) > 1 else ""
    return {
        "content": escape.discord(newest.title, 1800) + more,
        "allowed_mentions": {"parse": []},
        "embeds": [embed(m, with_numbers=m is newest) for m in shown],
    }


def embed(m: Message, *, with_numbers: bool) -> dict[str, Any]:
    description = [escape.discord(m.text, 1500)]
    if m.reason and m.reason not in m.text:
        description.append(f"**reason:** {escape.discord(m.reason, 800)}")
    if m.who:
        description.append(f"**by:** {escape.discord(m.who, 200)}")
    if with_numbers and m.command:
        description.append(f"To act: `{m.command.replace('`', '')}`")
    out: dict[str, Any] = {
        "title": escape.discord(m.title, 250),
        "description": "\n".join(description),
        "color": _COLORS.get(m.level, _COLORS["info"]),
        "timestamp": iso(m.time),
        "footer": {"text": escape.plain(_where(m), 200)},
    }
    if with_numbers:
        out["fields"] = [
            {"name": label, "value": escape.discord(value, 1000), "inline": True}
            for label, value in facts(m.numbers)
        ]
    return out


def _where(m: Message) -> str:
    where = f"{m.namespace} @ {m.context}" if m.context else m.namespace
    return f"monotui · {m.rollout} in {where}"
