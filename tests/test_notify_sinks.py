"""Each sink posts its platform's documented shape to a real HTTP receiver on loopback: Slack's
incoming webhook (text + blocks), Teams Workflows (an Adaptive Card), Discord (content + embeds,
no mentions), and the generic webhook's versioned JSON, each with the numbers and the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.notify_helpers import notified, rollback, sink
from tests.notify_receiver import receiving


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return [node] if isinstance(node, str) else []


def test_the_generic_webhook_gets_versioned_json_with_the_numbers(tmp_path: Path) -> None:
    with receiving() as rx:
        settings = sink(tmp_path, f"{rx.url}/hooks/monotui?token=s3cret", kind="webhook")
        with notified([settings], None) as (demo, notifier):
            rollback(demo)
            assert notifier.flush(10)
        (got,) = rx.wait_for(1)
    assert got.path == "/hooks/monotui" and got.query == {"token": "s3cret"}
    body = got.body
    assert body["version"] == 1
    assert (body["rollout"], body["namespace"], body["context"]) == ("checkout", "shop", "sim")
    assert body["event"] == "finished" and set(body["topics"]) == {"finished", "action"}
    assert body["who"].endswith("(key)") and "rolled back" in body["title"]
    numbers = body["numbers"]
    for key in (
        "error_rate_baseline",
        "error_rate_canary",
        "p99_ms_baseline",
        "p99_ms_canary",
        "e_value",
        "rolls_back_at",
        "canary_share_pct",
        "bad_served",
        "excess_bad",
    ):
        assert key in numbers
    assert numbers["rolls_back_at"] == 100.0
    assert body["command"] == "monotui status --rollout checkout --context sim"
    assert body["time"].endswith("Z")


def test_slack_gets_text_and_blocks(tmp_path: Path) -> None:
    with receiving() as rx:
        settings = sink(tmp_path, f"{rx.url}/services/T0/B0/XYZ", kind="slack")
        with notified([settings], None) as (demo, notifier):
            rollback(demo)
            assert notifier.flush(10)
        (got,) = rx.wait_for(1)
    assert got.path == "/services/T0/B0/XYZ"
    assert got.headers["Content-Type"] == "application/json"
    body = got.body
    assert set(body) == {"text", "blocks"} and "rolled back" in body["text"]
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds[0] == "header" and "context" in kinds and "section" in kinds
    header = body["blocks"][0]["text"]
    assert header["type"] == "plain_text" and len(header["text"]) <= 150
    fields = next(b["fields"] for b in body["blocks"] if "fields" in b)
    assert 1 <= len(fields) <= 10 and all(f["type"] == "mrkdwn" and f["verbatim"] for f in fields)
    shown = "\n".join(_texts(body["blocks"]))
    assert "error rate" in shown and "evidence" in shown and "rolls back at 100x" in shown


def test_teams_gets_an_adaptive_card_not_a_message_card(tmp_path: Path) -> None:
    with receiving() as rx:
        settings = sink(
            tmp_path, f"{rx.url}/workflows/x/triggers/manual/paths/invoke?sig=abc", kind="teams"
        )
        with notified([settings], None) as (demo, notifier):
            rollback(demo)
            assert notifier.flush(10)
        (got,) = rx.wait_for(1)
    body = got.body
    assert body["type"] == "message" and "@type" not in body  # no MessageCard
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    types = {b["type"] for b in card["body"]}
    assert types == {"TextBlock", "FactSet"}
    facts = [f for b in card["body"] if b["type"] == "FactSet" for f in b["facts"]]
    assert {"error rate", "p99", "canary traffic"} <= {f["title"] for f in facts}


def test_discord_gets_content_embeds_and_no_mentions(tmp_path: Path) -> None:
    with receiving() as rx:
        settings = sink(tmp_path, f"{rx.url}/api/webhooks/1/tok", kind="discord")
        with notified([settings], None) as (demo, notifier):
            rollback(demo)
            assert notifier.flush(10)
        (got,) = rx.wait_for(1)
    body = got.body
    assert body["allowed_mentions"] == {"parse": []}
    assert "rolled back" in body["content"] and len(body["content"]) <= 2000
    (embed,) = body["embeds"]
    assert set(embed) >= {"title", "description", "color", "timestamp", "fields", "footer"}
    assert len(embed["fields"]) <= 25 and all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert "monotui status --rollout checkout" in embed["description"]


def test_discord_is_asked_to_wait_so_that_a_2xx_means_the_message_was_saved(
    tmp_path: Path,
) -> None:
    # Without wait=true Discord answers 204 before saving, and a message it does not save
    # returns no error. A thread_id the URL names is kept.
    with receiving() as rx:
        plain = sink(tmp_path, f"{rx.url}/api/webhooks/1/tok", kind="discord")
        threaded = sink(tmp_path, f"{rx.url}/api/webhooks/2/tok?thread_id=42", kind="discord")
        with notified([plain, threaded], None) as (demo, notifier):
            rollback(demo)
            assert notifier.flush(10)
        got = sorted(rx.wait_for(2), key=lambda r: r.path)
    assert [r.query for r in got] == [{"wait": "true"}, {"thread_id": "42", "wait": "true"}]
