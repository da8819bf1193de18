"""The generic webhook's JSON: one POST per message, stable field names, `version` 1.

    {"version": 1, "rollout": "checkout", "namespace": "shop", "context": "prod",
     "event": "finished", "topics": ["finished", "automation"], "level": "error",
     "title": "checkout rolled back by the automation", "message": "rollback: 90/10 -> 100/0 ...",
     "reason": "...", "who": "automation", "numbers": {...}, "command": "monotui rollback ...",
     "time": "2026-01-01T10:00:00Z", "key": "..."}

`numbers` holds error rates as fractions 0..1, p99 in ms, the evidence (`e_value`, rolls back at
`rolls_back_at`), `ratio` with `ci_low`/`ci_high`, `canary_weight_pct`, `canary_share_pct`,
`bad_served` and `excess_bad`; a null is NO DATA, never 0. Text fields are literal one-line
strings (no control characters); a receiver must still treat them as data. New fields may be
added within version 1; a change of meaning bumps it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from monotui.notify.message import SCHEMA_VERSION, Message
from monotui.outside_text import literal
from monotui.status import iso


def payload(message: Message) -> dict[str, Any]:
    """The JSON body for one message."""
    return {
        "version": SCHEMA_VERSION,
        "rollout": message.rollout,
        "namespace": message.namespace,
        "context": message.context,
        "event": message.event,
        "topics": list(message.topics or (message.event,)),
        "level": message.level,
        "title": literal(message.title),
        "message": literal(message.text, max_len=2000),
        "reason": literal(message.reason, max_len=2000),
        "who": literal(message.who),
        "numbers": asdict(message.numbers),
        "command": literal(message.command, max_len=500),
        "time": iso(message.time),
        "key": message.key,
    }
