"""Slack's shape: an incoming webhook's JSON (`text` as the notification's fallback, `blocks` as
what the channel shows), and the same blocks for the bot's chat.postMessage / chat.update.

Block Kit limits kept: a header's plain text at most 150 characters, a section's text at most
3000, at most 10 fields of at most 2000, at most 50 blocks; and the limit Slack does not
document: it refuses blocks of more than about 13,000 characters in all (`msg_blocks_too_long`,
slackapi/bolt-js#2509), so a burst's blocks stay within `MAX_BLOCKS_CHARS` by shortening its
older messages (then showing only their titles, then only the newest, counted). Outside text is
escaped for mrkdwn (`escape.slack`) and every mrkdwn object is `verbatim`.
"""

from __future__ import annotations

import json
from typing import Any

from monotui.notify import escape
from monotui.notify.message import Message
from monotui.notify.wording import facts
from monotui.status import iso

MAX_BLOCKS = 50
MAX_BLOCKS_CHARS = 11_000
"""Of the blocks as JSON, a margin under what Slack takes."""
# How much of each message's text and reason: (newest's, older ones'); None leaves older ones
# to their titles. Tried in order until the blocks fit.
_SHAPES: tuple[tuple[tuple[int, int], tuple[int, int] | None], ...] = (
    ((1500, 1000), (1500, 1000)),
    ((1500, 1000), (300, 0)),
    ((1500, 1000), None),
)
_ICONS = {"error": ":red_circle:", "warn": ":large_orange_circle:", "info": ":large_blue_circle:"}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:3000], "verbatim": True}


def payload(messages: list[Message]) -> dict[str, Any]:
    """An incoming webhook's body for one message or a burst of them (same rollout)."""
    return {"text": fallback(messages), "blocks": blocks(messages)}


def fallback(messages: list[Message]) -> str:
    """The notification text (what a phone shows): the newest title, and how many more."""
    newest = messages[-1]
    more = f" (+{len(messages) - 1} more)" if len(messages) > 1 else ""
    return escape.slack(f"{newest.title}: {newest.text}", 300) + more


def blocks(messages: list[Message]) -> list[dict[str, Any]]:
    """The header, one section per message, the newest numbers, where, and the command, within
    `MAX_BLOCKS_CHARS`."""
    for newest, older in _SHAPES:
        out = _blocks(messages, newest, older)
        if len(json.dumps(out)) <= MAX_BLOCKS_CHARS:
            return out
    return _blocks(messages[-1:], (1500, 1000), None, left_out=len(messages) - 1)


def _blocks(
    messages: list[Message],
    newest_shape: tuple[int, int],
    older: tuple[int, int] | None,
    left_out: int = 0,
) -> list[dict[str, Any]]:
    newest = messages[-1]
    earlier = len(messages) - 1 + left_out
    more = f" (+{earlier} earlier)" if earlier else ""
    title = newest.title + more
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": escape.plain(title, 150)}}
    ]
    for m in messages[-(MAX_BLOCKS - 5) :]:
        out.append(
            {
                "type": "section",
                "text": mrkdwn(section_text(m, newest_shape if m is newest else older)),
            }
        )
    out.append(
        {
            "type": "section",
            "fields": [
                mrkdwn(f"*{label}*\n{escape.slack(value, 1900)}")
                for label, value in facts(newest.numbers)[:10]
            ],
        }
    )
    out.append({"type": "context", "elements": [mrkdwn(context_text(newest))]})
    if newest.command:
        out.append({"type": "section", "text": mrkdwn(f"To act: `{escape.slack(newest.command)}`")})
    return out


def section_text(m: Message, shape: tuple[int, int] | None = (1500, 1000)) -> str:
    """One message: its title, then (unless `shape` is None) as much of its text and reason as
    `shape` says, and who."""
    icon = _ICONS.get(m.level, _ICONS["info"])
    lines = [f"{icon} *{escape.slack(m.title, 200)}*"]
    if shape is None:
        return lines[0]
    text_len, reason_len = shape
    lines.append(escape.slack(m.text, text_len))
    if reason_len and m.reason and m.reason not in m.text:
        lines.append(f"_reason:_ {escape.slack(m.reason, reason_len)}")
    if m.who:
        lines.append(f"_by:_ {escape.slack(m.who, 200)}")
    return "\n".join(lines)


def context_text(m: Message) -> str:
    where = f"{m.namespace} @ {m.context}" if m.context else m.namespace
    return escape.slack(f"monotui · {m.rollout} in {where} · {iso(m.time)}", 500)
