"""Delivering one payload to a webhook: the URL read from its secret, every request through the
bounded client (a deadline, a size cap), the answer sorted into sent, retry later, or refused.

`DeliveryError.retry_after_s` carries the server's Retry-After (seconds, or an HTTP date) on a
429 or 503; `refused` marks an answer that no retry can change (a 400: the payload itself), so
the courier drops that message (counted) instead of blocking the queue behind it. Nothing here
prints or raises the URL: it is a secret, redacted from every message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from monotui.errors import ConfigError, MonotuiError
from monotui.notify.message import Message
from monotui.outside_text import literal, redact, url_credentials
from monotui.sources.http_client import BoundedClient
from monotui.sources.http_response import BoundedResponse, retry_after_s

MAX_ANSWER_BYTES = 1024 * 1024
"""The answer read at most. Past it the client calls the delivery failed, though the POST went
through; so it is set where no receiver's answer reaches (a web app's HTML page answering 200 to
a POST would otherwise get the same message again at every retry)."""
REFUSED = frozenset({400, 413, 422})
"""Statuses that say the payload itself is wrong: retrying it cannot help."""


class DeliveryError(Exception):
    """A delivery did not go through; the message says why (no secret in it)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, refused: bool = False):
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.refused = refused


class Transport(Protocol):
    """Sends one payload of messages (all about one rollout) or raises DeliveryError."""

    batches: bool
    """Whether several messages may go out as one payload."""

    def send(self, messages: list[Message]) -> None: ...

    def close(self) -> None: ...


Payload = Callable[[list[Message]], dict[str, Any]]
Secrets = tuple[str, ...]


class WebhookTransport:
    """POST a JSON payload to a webhook URL (slack, teams, discord, webhook)."""

    def __init__(
        self,
        label: str,
        payload: Payload,
        read_url: Callable[[], str],
        *,
        timeout_s: float,
        batches: bool = True,
        query: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.label = label
        self.query = query
        """Parameters added to the URL's own (kept when it has them already)."""
        self.payload = payload
        self.batches = batches
        self._read_url = read_url
        self._timeout_s = timeout_s
        self._client: tuple[BoundedClient, str, tuple[tuple[str, str], ...], Secrets] | None = None

    def send(self, messages: list[Message]) -> None:
        client, path, query, secrets = self._connect()
        try:
            answer = client.request("POST", path, params=query or None, json=self.payload(messages))
        except MonotuiError as exc:
            self._forget()  # the URL may have changed: read it again next time
            raise DeliveryError(f"{self.label}: {redact(str(exc), secrets)}") from None
        check(answer, self.label, secrets)

    def close(self) -> None:
        self._forget()

    def _connect(self) -> tuple[BoundedClient, str, tuple[tuple[str, str], ...], Secrets]:
        if self._client is None:
            url = self._read_url()
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"{self.label}: the webhook URL is not an http(s) URL")
            origin = f"{parts.scheme}://{parts.netloc}"
            # The whole URL, its path (a bare "/" holds nothing and would blot out every slash
            # of an error text), its query, and each credential in them on its own.
            path = parts.path if parts.path not in ("", "/") else ""
            secrets = (url, path, parts.query, *url_credentials(url))
            client = BoundedClient(
                origin,
                timeout_s=self._timeout_s,
                max_bytes=MAX_ANSWER_BYTES,
                name=self.label,
                secrets=secrets,
            )
            # The client names the server by its origin: the path and query hold the secret.
            client.source = self.label
            query = tuple(parse_qsl(parts.query, keep_blank_values=True))
            named = {name for name, _ in query}
            query += tuple((k, v) for k, v in self.query if k not in named)
            self._client = (client, parts.path or "/", query, secrets)
        return self._client

    def _forget(self) -> None:
        if self._client is not None:
            self._client[0].close()
            self._client = None


def check(answer: BoundedResponse, label: str, secrets: tuple[str, ...]) -> None:
    """Raise DeliveryError unless the answer is a 2xx."""
    if answer.ok:
        return
    said = literal(redact(answer.summary(), secrets), max_len=200)
    said = f": {said}" if said else ""
    status = answer.status
    if status in (429, 503):
        wait = retry_after_s(answer.headers.get("Retry-After"))
        if wait is None and status == 429:
            wait = _discord_retry_after(answer)
        raise DeliveryError(
            f"{label} is rate limiting us (HTTP {status}){said}", retry_after_s=wait
        )
    if status in REFUSED:
        raise DeliveryError(f"{label} refused the message (HTTP {status}){said}", refused=True)
    if 300 <= status < 400:
        # Not followed: the payload and the URL's key would go to a host nobody configured.
        raise DeliveryError(
            f"{label} answered a redirect (HTTP {status}), not followed: "
            "set the webhook URL to where it points"
        )
    if status in (401, 403, 404, 410):
        raise DeliveryError(
            f"{label} refused us (HTTP {status}){said}: check that the webhook URL still exists"
        )
    raise DeliveryError(f"{label} failed (HTTP {status}){said}")


def _discord_retry_after(answer: BoundedResponse) -> float | None:
    try:
        body = answer.json()
    except MonotuiError:
        return None
    value = body.get("retry_after") if isinstance(body, dict) else None
    return retry_after_s(str(value)) if isinstance(value, int | float) else None
