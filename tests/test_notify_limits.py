"""Each platform's documented size limits hold whatever the outside text: a burst of messages
with long error texts full of markup (every character escaped, so twice as long) still reaches a
receiver that refuses what the platform refuses (Discord 400 past its embed limits, Teams 413
past 28 KB, Slack 400 past Block Kit's limits or about 13,000 characters of blocks), with the newest message whole: nothing of the burst is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from monotui.model import EventLevel, OutsideChange
from monotui.notify import escape
from tests.notify_helpers import notified, rollback, sink
from tests.notify_receiver import (
    Answer,
    discord_webhook,
    receiving,
    slack_webhook,
    teams_workflow,
)

LONG = "_*" * 1000  # markup from end to end: each character is escaped


@pytest.mark.parametrize(
    ("kind", "respond"),
    [("discord", discord_webhook), ("teams", teams_workflow), ("slack", slack_webhook)],
)
def test_a_burst_of_long_hostile_texts_stays_within_the_limits(
    tmp_path: Path, kind: str, respond: object
) -> None:
    with receiving(respond) as rx:  # type: ignore[arg-type]
        settings = sink(tmp_path, f"{rx.url}/hook", kind=kind, batch_s=1.0)
        with notified([settings], None) as (demo, notifier):
            told = demo.rollout("checkout").observer.told
            for n in range(9):
                text = f"automation paused elsewhere: {n} {LONG}"
                told.tell(OutsideChange, text, EventLevel.WARN, what="pause")
                demo.world.advance(1.0)  # each its own state change, not a repeat
            rollback(demo)
            assert notifier.flush(10)
            courier = notifier.sinks[0].courier
            assert courier.refused == 0 and courier.sent == 10
        (got,) = rx.wait_for(1)
    answer: Answer = respond(got)  # type: ignore[operator]
    assert answer.status < 300
    shown = str(got.body)
    assert "rolled back" in shown and "rollout checkout" in shown  # the newest, whole


def test_an_escaped_text_fits_its_limit_and_no_escape_is_cut_in_half() -> None:
    # What the platform counts is the escaped text: 300 underscores are 600 characters there.
    assert escape.discord("_" * 300, 256) == "\\_" * 127 + "…"
    assert escape.card("*" * 300, 100) == "\\*" * 49 + "…"
    assert escape.slack("<" * 300, 100) == "&lt;" * 24 + "…"
    assert escape.slack("a & b", 100) == "a &amp; b"
