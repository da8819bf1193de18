"""`[[notify]]` tables of monotui.toml: where notifications go, which events, which rollouts.

Secrets (a webhook URL, a bot token) never live in the TOML: they come from a file (`url_file`,
`token_file`) or an environment variable (`url_env`, `token_env`). A `url` or `token` key in the
file is refused with a line that says where to put it instead, and the value is never echoed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from monotui.kinds import Section

SinkKind = Literal["slack", "teams", "discord", "webhook"]
EventName = Literal["action", "automation", "verdict", "paused", "source", "finished"]
EVENT_NAMES: tuple[EventName, ...] = (
    "action",
    "automation",
    "verdict",
    "paused",
    "source",
    "finished",
)
"""action: a person's action; automation: the automation's own; verdict: a change that matters
(PASS -> FAIL, NO DATA for long, both versions failing); paused: the automation paused or went
on; source: a source failing longer than `source_error_after_s`; finished: promoted or rolled
back."""

_SECRET_KEYS = {
    "url": 'url_file = "/path/to/file" or url_env = "VARIABLE"',
    "webhook_url": "url_file or url_env",
    "token": "token_file or token_env",
}


class NotifySettings(Section):
    """One notification sink (`[[notify]]`)."""

    kind: SinkKind
    """slack (incoming webhook, or a bot token), teams (a Workflows webhook), discord, webhook."""
    name: str = ""
    """What the cockpit calls this sink ("notify NAME"); default: the kind."""
    url_file: Path | None = None
    """A file holding the webhook URL (read at start; re-read after a failed delivery)."""
    url_env: str | None = None
    """An environment variable holding the webhook URL."""
    token_file: Path | None = None
    """slack: a file holding a bot token (xoxb-...): one message per rollout, updated in place,
    with replies in its thread (chat.postMessage / chat.update)."""
    token_env: str | None = None
    """slack: an environment variable holding the bot token."""
    channel: str | None = None
    """slack with a token: the channel ID (C...) to post in."""
    api_url: str = "https://slack.com/api"
    """slack with a token: the Web API's base URL (a proxy, or a test server)."""
    events: list[EventName] = Field(default_factory=lambda: list(EVENT_NAMES))
    """Which events to send (default: all)."""
    rollouts: list[str] = Field(default_factory=list)
    """Which rollouts (by name) to send about; empty: every rollout."""
    per_minute: float = Field(20.0, gt=0, le=600)
    """At most this many deliveries a minute (a token bucket; bursts of `burst`)."""
    burst: int = Field(5, ge=1, le=100)
    """Deliveries that may go out back to back before the rate limit spaces them."""
    batch_s: float = Field(2.0, ge=0, le=60)
    """Messages within this many seconds go out as one (not for kind webhook: one per event)."""
    nodata_after_s: float = Field(300.0, ge=0)
    """A NO DATA verdict is told once it has lasted this long (rollout clock)."""
    source_error_after_s: float = Field(120.0, ge=0)
    """A failing source is told once it has failed this long (rollout clock)."""
    timeout_s: float = Field(10.0, gt=0, le=120)
    """Deadline of one delivery."""
    queue_max: int = Field(1000, ge=1, le=100_000)
    """Messages kept on disk while the sink is down; past this the oldest are dropped (counted)."""
    failing_after: int = Field(3, ge=1, le=1000)
    """Failed deliveries in a row before the sink shows as a failing source in the cockpit."""

    @model_validator(mode="before")
    @classmethod
    def _no_secrets_inline(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, instead in _SECRET_KEYS.items():
                if key in data:
                    raise ValueError(
                        f"'{key}' is a secret and is not read from monotui.toml: use {instead} "
                        "(the value was not shown)"
                    )
        return data

    @model_validator(mode="after")
    def _one_secret(self) -> NotifySettings:
        url = [k for k in ("url_file", "url_env") if getattr(self, k) is not None]
        token = [k for k in ("token_file", "token_env") if getattr(self, k) is not None]
        if len(url) > 1 or len(token) > 1:
            raise ValueError(
                "give one of url_file and url_env (token_file and token_env), not both"
            )
        if token and self.kind != "slack":
            raise ValueError(f"token_file/token_env are for kind slack, not {self.kind}")
        if token and url:
            raise ValueError("slack: give a webhook (url_file/url_env) or a bot token, not both")
        if not token and not url:
            raise ValueError(f"{self.kind}: set url_file or url_env (where the webhook URL is)")
        if token and not self.channel:
            raise ValueError('slack with a bot token needs channel = "C0123456789"')
        return self

    @property
    def label(self) -> str:
        """The sink as the cockpit names it."""
        return f"notify {self.name or self.kind}"

    @property
    def bot(self) -> bool:
        """Slack through the Web API (a bot token), not an incoming webhook."""
        return self.token_file is not None or self.token_env is not None

    def wants(self, event: str, rollout: str) -> bool:
        """Whether this sink takes `event` about `rollout`."""
        return event in self.events and (not self.rollouts or rollout in self.rollouts)
