"""Slack with a bot token: one message per rollout posted once (chat.postMessage), then updated
in place (chat.update) with every event as a reply in its thread, the same message across a
restart; against a real HTTP server on loopback that answers as the Web API does."""

from __future__ import annotations

import itertools
from pathlib import Path

from monotui.notify.settings import NotifySettings
from tests.notify_helpers import notified, rollback
from tests.notify_receiver import Answer, Received, receiving

TOKEN = "xoxb-test-0000"


def slack_api() -> tuple[list[str], object]:
    stamps = (f"1700000000.{n:06d}" for n in itertools.count(1))
    calls: list[str] = []

    def respond(got: Received) -> Answer:
        calls.append(got.path)
        if got.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Answer(200, {}, {"ok": False, "error": "invalid_auth"})
        if got.path == "/api/chat.update":
            return Answer(200, {}, {"ok": True, "channel": "C42", "ts": got.body["ts"]})
        return Answer(200, {}, {"ok": True, "channel": "C42", "ts": next(stamps)})

    return calls, respond


def bot(tmp_path: Path, api_url: str) -> NotifySettings:
    token = tmp_path / "slack-token"
    token.write_text(TOKEN)
    return NotifySettings.model_validate(
        {"kind": "slack", "token_file": token, "channel": "C42", "api_url": api_url, "batch_s": 0.0}
    )


def test_one_message_per_rollout_updated_in_place_with_replies(tmp_path: Path) -> None:
    calls, respond = slack_api()
    state = tmp_path / "state"
    with receiving(respond) as rx:  # type: ignore[arg-type]
        settings = bot(tmp_path, rx.url + "/api")
        with notified([settings], state) as (demo, notifier):
            rollback(demo)
            assert notifier.flush(10)
            rollback(demo)
            assert notifier.flush(10)
        with notified([settings], state) as (demo, notifier):  # a restart
            rollback(demo)
            assert notifier.flush(10)
        got = rx.wait_for(6)
    assert calls == [
        "/api/chat.postMessage",  # the anchor
        "/api/chat.postMessage",  # its first reply
        "/api/chat.update",
        "/api/chat.postMessage",
        "/api/chat.update",  # after the restart: still the same message
        "/api/chat.postMessage",
    ]
    anchor = got[0].body
    assert anchor["channel"] == "C42" and "thread_ts" not in anchor
    assert anchor["blocks"][0]["type"] == "header" and anchor["text"]
    first_ts = "1700000000.000001"
    for reply in (got[1], got[3], got[5]):
        assert reply.body["thread_ts"] == first_ts and reply.body["channel"] == "C42"
        assert "rolled back" in reply.body["text"]
    for update in (got[2], got[4]):
        assert update.body["ts"] == first_ts and update.body["blocks"]


def test_a_refused_token_is_a_failing_sink_and_the_token_is_never_shown(tmp_path: Path) -> None:
    calls, respond = slack_api()
    with receiving(respond) as rx:  # type: ignore[arg-type]
        settings = bot(tmp_path, rx.url + "/api")
        (tmp_path / "slack-token").write_text("xoxb-wrong-9999")
        settings = settings.model_copy(update={"failing_after": 1})
        with notified([settings], None, max_backoff_s=0.05) as (demo, notifier):
            rollback(demo)
            courier = notifier.sinks[0].courier
            rx.wait_for(2)
            notifier.flush(0.5)
            problem = courier.problem or ""
            status = demo.rollout("checkout").snapshot().source("notify slack")
    assert "invalid_auth" in problem and "xoxb-wrong" not in problem
    assert status is not None and "xoxb" not in status.message


def test_a_message_slack_refuses_for_its_blocks_does_not_hold_up_the_ones_after_it(
    tmp_path: Path,
) -> None:
    calls, respond = slack_api()

    def refusing(got: Received) -> Answer:
        if "reviews" in str(got.body.get("blocks")):
            return Answer(200, {}, {"ok": False, "error": "msg_blocks_too_long"})
        return respond(got)  # type: ignore[operator, no-any-return]

    with receiving(refusing) as rx:
        settings = bot(tmp_path, rx.url + "/api")
        with notified([settings], None, max_backoff_s=0.05) as (demo, notifier):
            rollback(demo, "reviews")
            rollback(demo, "checkout")
            assert notifier.flush(10)
            courier = notifier.sinks[0].courier
            assert courier.refused == 1 and courier.sent == 1
    delivered = [r for r in rx.requests if "checkout" in str(r.body.get("blocks"))]
    assert len(delivered) == 2  # the anchor and its reply
