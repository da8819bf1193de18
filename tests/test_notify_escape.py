"""Outside text in a message cannot format, link or mention anyone on any platform: a pause
annotation written as `<!channel> *urgent* @everyone [click](http://evil)` arrives as text."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from monotui.model import EventLevel, OutsideChange
from monotui.notify import discord_payload, escape, webhook_payload
from monotui.notify.message import Message
from tests.notify_helpers import notified, sink
from tests.notify_receiver import receiving

HOSTILE = "<!channel> *urgent* @everyone [click](http://evil) <@U123> \x1b[2J\u202egnp.exe"


def _sent(kind: str, tmp_path: Path) -> Any:
    with receiving() as rx:
        settings = sink(tmp_path, f"{rx.url}/hook", kind=kind)
        with notified([settings], None) as (demo, notifier):
            told = demo.rollout("checkout").observer.told
            told.tell(
                OutsideChange,
                f"automation paused elsewhere: {HOSTILE}",
                EventLevel.WARN,
                what="pause",
            )
            assert notifier.flush(10)
        (got,) = rx.wait_for(1)
    return got.body


def test_slack_escapes_its_control_characters(tmp_path: Path) -> None:
    raw = json.dumps(_sent("slack", tmp_path), ensure_ascii=False)
    assert "<!channel>" not in raw and "<@U123>" not in raw and "<http" not in raw
    assert "&lt;!channel&gt;" in raw and "@\u200beveryone" in raw
    assert "\x1b" not in raw and "\u202e" not in raw and "\\\\x1b" in raw


def test_discord_escapes_markdown_and_mentions_nobody(tmp_path: Path) -> None:
    body = _sent("discord", tmp_path)
    raw = json.dumps(body, ensure_ascii=False)
    assert body["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in raw and "[click](" not in raw and "*urgent*" not in raw
    assert "\\\\[click\\\\]\\\\(http://evil\\\\)" in raw and "\\\\*urgent\\\\*" in raw


def test_teams_escapes_card_markdown(tmp_path: Path) -> None:
    raw = json.dumps(_sent("teams", tmp_path), ensure_ascii=False)
    assert "[click](" not in raw and "*urgent*" not in raw and "@everyone" not in raw
    assert "\\\\*urgent\\\\*" in raw


def test_the_escapes_leave_ordinary_text_alone() -> None:
    assert escape.slack("new-checkout 5.2 % vs 0.5 %") == "new-checkout 5.2 % vs 0.5 %"
    assert escape.discord("a_b") == "a\\_b" and escape.card("a_b") == "a\\_b"
    assert escape.slack("a & b < c") == "a &amp; b &lt; c"


def test_the_command_to_act_is_literal_too() -> None:
    # The command holds the rollout's and the context's names (a kubeconfig context's name is
    # free text), and shlex quoting keeps control characters as they are.
    command = "monotui rollback --rollout checkout --context 'prod\x1b]52;c;ZXZpbA==\x07\u202e'"
    message = Message("k", "checkout", "shop", "prod", "action", "t", "x", "", "info", 0.0)
    message = replace(message, command=command)
    for body in (discord_payload.payload([message]), webhook_payload.payload(message)):
        raw = json.dumps(body, ensure_ascii=False)
        assert "\x1b" not in raw and "\x07" not in raw and "\u202e" not in raw
        assert "--context 'prod\\\\x1b]52;c;ZXZpbA==" in raw
