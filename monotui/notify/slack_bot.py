"""Slack through the Web API with a bot token: one message per rollout, kept up to date, with
every event as a reply in its thread.

The first delivery about a rollout posts its anchor message (chat.postMessage) and remembers its
channel and ts in the sink's ledger, so a restarted monotui keeps updating the same message; each
later delivery updates the anchor in place (chat.update) to the newest state and numbers, then
replies in its thread (chat.postMessage with thread_ts). An anchor Slack no longer has (deleted,
too old to edit) is posted anew. Slack answers HTTP 200 with `ok: false` and an error code on
failures; 429 with Retry-After when rate limited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monotui.errors import MonotuiError
from monotui.notify import escape, slack_payload
from monotui.notify.ledger import Ledger
from monotui.notify.message import Message
from monotui.notify.transport import DeliveryError, check
from monotui.notify.wording import facts
from monotui.outside_text import literal, redact
from monotui.sources.http_client import BoundedClient

MAX_ANSWER_BYTES = 256 * 1024
GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
"""chat.update errors that mean: post a new anchor."""
REFUSED = frozenset(
    {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "no_text"}
)


class SlackBotTransport:
    """chat.postMessage once per rollout, then chat.update, with replies in its thread."""

    batches = True

    def __init__(
        self,
        label: str,
        read_token: Callable[[], str],
        *,
        channel: str,
        api_url: str,
        ledger: Ledger,
        timeout_s: float,
    ) -> None:
        self.label = label
        self.channel = channel
        self.api_url = api_url.rstrip("/")
        self.ledger = ledger
        self._read_token = read_token
        self._timeout_s = timeout_s
        self._client: tuple[BoundedClient, str] | None = None

    def send(self, messages: list[Message]) -> None:
        newest = messages[-1]
        anchor = self.ledger.thread(newest.rollout)
        summary = anchor_blocks(newest)
        text = slack_payload.fallback([newest])
        if anchor is not None:
            answer = self._call(
                "chat.update",
                {"channel": anchor["channel"], "ts": anchor["ts"], "text": text, "blocks": summary},
                gone_ok=True,
            )
            if answer is None:
                anchor = None  # Slack lost it: a new anchor below
        if anchor is None:
            answer = self._call(
                "chat.postMessage", {"channel": self.channel, "text": text, "blocks": summary}
            )
            assert answer is not None
            anchor = {"channel": str(answer.get("channel", self.channel)), "ts": str(answer["ts"])}
            self.ledger.set_thread(newest.rollout, anchor)
        self._call(
            "chat.postMessage",
            {
                "channel": anchor["channel"],
                "thread_ts": anchor["ts"],
                "text": slack_payload.fallback(messages),
                "blocks": slack_payload.blocks(messages),
            },
        )

    def close(self) -> None:
        if self._client is not None:
            self._client[0].close()
            self._client = None

    def _call(self, method: str, body: dict[str, Any], *, gone_ok: bool = False) -> Any:
        client, token = self._connect()
        headers = {"Authorization": f"Bearer {token}"}
        try:
            answer = client.post(
                f"/{method}",
                json={**body, "unfurl_links": False, "unfurl_media": False},
                headers=headers,
            )
        except MonotuiError as exc:
            self.close()
            raise DeliveryError(f"{self.label}: {redact(str(exc), (token,))}") from None
        check(answer, self.label, (token,))
        try:
            data = answer.json()
        except MonotuiError as exc:
            raise DeliveryError(f"{self.label}: {method} answered {exc}") from None
        if not isinstance(data, dict):
            raise DeliveryError(f"{self.label}: {method} answered something other than an object")
        if data.get("ok") is True:
            if method == "chat.postMessage" and not isinstance(data.get("ts"), str):
                raise DeliveryError(f"{self.label}: chat.postMessage answered without a ts")
            return data
        error = literal(redact(str(data.get("error", "unknown error")), (token,)), max_len=100)
        if gone_ok and error in GONE:
            return None
        if error == "ratelimited":
            raise DeliveryError(f"{self.label}: {method} rate limited", retry_after_s=None)
        raise DeliveryError(f"{self.label}: {method} failed: {error}", refused=error in REFUSED)

    def _connect(self) -> tuple[BoundedClient, str]:
        if self._client is None:
            token = self._read_token()
            client = BoundedClient(
                self.api_url,
                timeout_s=self._timeout_s,
                max_bytes=MAX_ANSWER_BYTES,
                name=self.label,
                secrets=(token,),
            )
            self._client = (client, token)
        return self._client


def anchor_blocks(newest: Message) -> list[dict[str, Any]]:
    """The rollout's message: where it stands now, its numbers, and the command to act."""
    where = f"{newest.namespace} @ {newest.context}" if newest.context else newest.namespace
    header = escape.plain(f"monotui: {newest.rollout} in {where}", 150)
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "text": slack_payload.mrkdwn(f"*Now:* {escape.slack(newest.title)}")},
        {
            "type": "section",
            "fields": [
                slack_payload.mrkdwn(f"*{label}*\n{escape.slack(value, 1900)}")
                for label, value in facts(newest.numbers)[:10]
            ],
        },
        {"type": "context", "elements": [slack_payload.mrkdwn(slack_payload.context_text(newest))]},
    ]
    if newest.command:
        command = f"To act: `{escape.slack(newest.command)}`"
        out.append({"type": "section", "text": slack_payload.mrkdwn(command)})
    return out
