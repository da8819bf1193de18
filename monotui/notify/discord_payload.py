"""Discord's shape: an execute-webhook body with `content` (the notification line) and up to 10
`embeds` (one per message, the newest with the numbers as fields), and `allowed_mentions` with
nothing to parse, so no text can ping anyone. Outside text is escaped for Discord's markdown.

Limits kept (Discord answers 400 to a body past any of them, and the whole burst would be
lost): content 2000 characters, an embed's title 256, description 4096 and footer 2048, 25 fields
of name 256 and value 1024, 10 embeds, 6000 characters over all the embeds' titles,
descriptions, footers and fields. The newest message is always whole; older ones of a burst get
what room is left (shortened, or left out and counted in the content line).
"""

from __future__ import annotations

from typing import Any

from monotui.notify import escape
from monotui.notify.message import Message
from monotui.notify.wording import facts
from monotui.status import iso

MAX_EMBEDS = 10
MAX_TOTAL = 6000
"""Characters over all embeds of one message."""
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
_COLORS = {"error": 0xD73A49, "warn": 0xE3B341, "info": 0x2F81F7}


def payload(messages: list[Message]) -> dict[str, Any]:
    """The webhook's body for one message or a burst of them (same rollout)."""
    newest = messages[-1]
    last = embed(newest, with_numbers=True)
    room = MAX_TOTAL - size(last)
    older = messages[:-1][-(MAX_EMBEDS - 1) :]
    share = room // len(older) if older else 0
    earlier = [embed(m, with_numbers=False, room=share) for m in older]
    while earlier and sum(map(size, earlier)) > room:
        earlier.pop(0)  # the oldest go first: the newest state is the news
    more = f" (+{len(messages) - 1} more)" if len(messages) > 1 else ""
    return {
        "content": escape.discord(newest.title, 1800) + more,
        "allowed_mentions": {"parse": []},
        "embeds": [*earlier, last],
    }


def embed(m: Message, *, with_numbers: bool, room: int = MAX_TOTAL) -> dict[str, Any]:
    """One message as an embed of at most `room` characters (as Discord counts them), when
    its title and footer fit in that at all."""
    title = escape.discord(m.title, min(TITLE_MAX, max(1, room // 3)))
    footer = escape.plain(_where(m), 200)
    space = min(DESCRIPTION_MAX, room - len(title) - len(footer))
    pairs = [(label, escape.discord(value, 1000)) for label, value in facts(m.numbers)]
    if with_numbers:
        space -= sum(len(label) + len(value) for label, value in pairs)
    out: dict[str, Any] = {
        "title": title,
        "color": _COLORS.get(m.level, _COLORS["info"]),
        "timestamp": iso(m.time),
        "footer": {"text": footer},
    }
    description = _description(m, with_numbers, space)
    if description:
        out["description"] = description
    if with_numbers:
        out["fields"] = [{"name": k, "value": v, "inline": True} for k, v in pairs]
    return out


def size(e: dict[str, Any]) -> int:
    """What Discord counts of an embed against the 6000."""
    fields = e.get("fields", [])
    return (
        len(e.get("title", ""))
        + len(e.get("description", ""))
        + len(e.get("footer", {}).get("text", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def _description(m: Message, with_numbers: bool, space: int) -> str:
    """The text, the reason, who, and the command, each while there is room for it."""
    parts: list[str] = []
    left = space

    def add(prefix: str, text: str, limit: int, escaped: bool = True) -> None:
        nonlocal left
        room = min(limit, left - len(prefix) - (1 if parts else 0))
        if room < 8:  # no room worth a cut: left out
            return
        body = escape.discord(text, room) if escaped else text[:room]
        parts.append(prefix + body)
        left -= len(prefix) + len(body) + (1 if len(parts) > 1 else 0)

    add("", m.text, 1500)
    if m.reason and m.reason not in m.text:
        add("**reason:** ", m.reason, 800)
    if m.who:
        add("**by:** ", m.who, 200)
    if with_numbers and m.command:
        command = escape.plain(m.command, 300).replace("`", "")  # names in it are outside text
        if len(command) + 11 <= left:
            add("To act: ", f"`{command}`", len(command) + 2, escaped=False)
    return "\n".join(parts)


def _where(m: Message) -> str:
    where = f"{m.namespace} @ {m.context}" if m.context else m.namespace
    return f"monotui · {m.rollout} in {where}"
