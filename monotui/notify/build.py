"""Building the notifier of a configuration: each `[[notify]]` sink with its transport, on-disk
queue and ledger, composing from the rollouts it serves, and reporting a failing sink as a source
problem of those rollouts (the cockpit's sources panel and `status` show it)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monotui.errors import ConfigError, SourceError
from monotui.model import Snapshot
from monotui.notify import discord_payload, slack_payload, teams_payload, webhook_payload
from monotui.notify.compose import Composer
from monotui.notify.courier import Courier
from monotui.notify.ledger import Ledger
from monotui.notify.notifier import Notifier, Sink
from monotui.notify.secret import read_secret
from monotui.notify.settings import NotifySettings
from monotui.notify.slack_bot import SlackBotTransport
from monotui.notify.spool import Spool
from monotui.notify.transport import Transport, WebhookTransport

if TYPE_CHECKING:
    from monotui.rollout import Rollout


def state_dir() -> Path:
    """$XDG_STATE_HOME/monotui/notify (~/.local/state/monotui/notify)."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "monotui" / "notify"


class RolloutLookup:
    """What the composer may read of the rollouts, and where a sink's health is shown."""

    def __init__(self, rollouts: Sequence[Rollout]) -> None:
        self.rollouts = {r.name: r for r in rollouts}

    def snapshot(self, rollout: str) -> Snapshot | None:
        found = self.rollouts.get(rollout)
        return found.snapshot() if found is not None else None

    def generation(self, rollout: str) -> str:
        found = self.rollouts.get(rollout)
        route = found.actuator.state.route if found is not None else None
        return route.version if route is not None else ""

    def user(self, rollout: str) -> str:
        found = self.rollouts.get(rollout)
        if found is None:
            return ""
        return found.actuator.kube_user or found.actuator.audit.user

    def sink_health(self, names: Sequence[str]) -> Callable[[str, str | None], None]:
        """Reports a sink's health as a source of each rollout in `names` (all when empty)."""

        def report(label: str, problem: str | None) -> None:
            for name, rollout in self.rollouts.items():
                if names and name not in names:
                    continue
                health = rollout.observer.health
                if problem is None:
                    health.clear(label)
                else:
                    health.failed(label, SourceError(problem))

        return report


def build_notifier(
    sinks: Sequence[NotifySettings],
    rollouts: Sequence[Rollout],
    *,
    clock: Callable[[], float] = time.time,
    folder: Path | None = None,
    persist: bool = True,
    max_backoff_s: float = 60.0,
) -> Notifier | None:
    """The notifier of `sinks` over `rollouts` (None without sinks). Reads every secret once now,
    so a missing one is a ConfigError at start. `persist=False` keeps queues in memory (demo)."""
    if not sinks:
        return None
    lookup = RolloutLookup(rollouts)
    where = folder or state_dir()
    built = []
    for settings in sinks:
        stem = where / _stem(settings)
        ledger = Ledger(stem.with_suffix(".ledger.json") if persist else None)
        spool = Spool(stem.with_suffix(".spool.jsonl") if persist else None, settings.queue_max)
        transport = transport_for(settings, ledger)
        courier = Courier(
            settings.label,
            transport,
            spool=spool,
            ledger=ledger,
            per_minute=settings.per_minute,
            burst=settings.burst,
            batch_s=settings.batch_s,
            failing_after=settings.failing_after,
            on_health=lookup.sink_health(settings.rollouts),
            max_backoff_s=max_backoff_s,
        )
        composer = Composer(
            lookup,
            nodata_after_s=settings.nodata_after_s,
            source_error_after_s=settings.source_error_after_s,
        )
        built.append(Sink(settings, composer, courier))
    return Notifier(built, clock)


def transport_for(settings: NotifySettings, ledger: Ledger) -> Transport:
    """The transport of one sink; its secret is read now (ConfigError when missing), and again
    after a failed delivery (a rotated URL is picked up; a file gone since keeps the last one)."""
    label = settings.label
    if settings.bot:
        token = _rereading(
            lambda: read_secret(
                settings.token_file, settings.token_env, what="bot token", sink=label
            )
        )
        return SlackBotTransport(
            label,
            token,
            channel=settings.channel or "",
            api_url=settings.api_url,
            ledger=ledger,
            timeout_s=settings.timeout_s,
        )

    url = _rereading(
        lambda: read_secret(settings.url_file, settings.url_env, what="webhook URL", sink=label)
    )
    if settings.kind == "webhook":
        return WebhookTransport(
            label,
            lambda ms: webhook_payload.payload(ms[0]),
            url,
            timeout_s=settings.timeout_s,
            batches=False,
        )
    payload = {
        "slack": slack_payload.payload,
        "teams": teams_payload.payload,
        "discord": discord_payload.payload,
    }[settings.kind]
    # Discord answers 204 at once unless asked to wait, and then "a message that is not saved
    # does not return an error" (its execute-webhook docs): only wait=true makes a 2xx mean sent.
    query = (("wait", "true"),) if settings.kind == "discord" else ()
    return WebhookTransport(label, payload, url, timeout_s=settings.timeout_s, query=query)


def check_sink(settings: NotifySettings) -> str:
    """For check-config: that the sink's secret reads and is a usable URL (ConfigError saying
    what is wrong). The line names the server by its origin only: the path and query of a
    webhook URL are its key, and a bot token is shown not at all."""
    label = settings.label
    if settings.bot:
        read_secret(settings.token_file, settings.token_env, what="bot token", sink=label)
        return f"{label}: bot token ok, channel {settings.channel}, at {_origin(settings.api_url)}"
    url = read_secret(settings.url_file, settings.url_env, what="webhook URL", sink=label)
    if urlsplit(url).scheme not in ("http", "https") or not _origin(url):
        raise ConfigError(f"{label}: the webhook URL is not an http(s) URL")
    return f"{label}: webhook URL ok ({_origin(url)}, kind {settings.kind}; nothing sent)"


def _origin(url: str) -> str:
    """scheme://host[:port], without a user or password ("" when there is no host)."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        return ""
    if not host:
        return ""
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _rereading(read: Callable[[], str]) -> Callable[[], str]:
    """`read` now (raising), and on later calls its newest value, the last good one when it
    fails."""
    last = [read()]

    def current() -> str:
        with contextlib.suppress(ConfigError):
            last[0] = read()
        return last[0]

    return current


def _stem(settings: NotifySettings) -> Path:
    """A file name per sink: its name, and a digest of where its secret is (not the secret)."""
    where = "|".join(
        str(x)
        for x in (
            settings.kind,
            settings.name,
            settings.url_file,
            settings.url_env,
            settings.token_file,
            settings.token_env,
            settings.channel,
        )
    )
    digest = hashlib.sha256(where.encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9-]+", "-", (settings.name or settings.kind).lower()).strip("-")
    return Path(f"{slug or 'sink'}-{digest}")
