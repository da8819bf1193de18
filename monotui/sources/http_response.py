"""The answer of a `BoundedClient` request: status, headers, the whole (capped) body.

`json()` decodes with the bounded parser (depth limit, duplicate keys refused). `summary()` is
the body as one line a person can read in an error message (the error field of a JSON error, the
title of an HTML error page), literal and with secrets redacted. `raise_for_status()` turns an
error status into the typed error a user sees.
"""

from __future__ import annotations

import email.utils
import html
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monotui.errors import BackendUnavailableError, PermissionDeniedError, SourceError
from monotui.outside_text import literal, redact, redact_url
from monotui.sources.bounded_parse import DEFAULT_MAX_DEPTH, DocumentError, OnDuplicate, load_json

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
# Fields that carry the words of a JSON error body, most specific first.
_ERROR_FIELDS = ("error", "errorDetails", "message", "detail", "title", "errorCode", "reason")


@dataclass(frozen=True, slots=True)
class BoundedResponse:
    """One complete answer; `source` names the server in messages ("Prometheus at http://...")."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    source: str
    secrets: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body decoded (its charset, else UTF-8), undecodable bytes replaced."""
        charset = "utf-8"
        match = re.search(r"charset=([\w.-]+)", self.headers.get("Content-Type", ""), re.I)
        if match:
            charset = match.group(1)
        try:
            return self.body.decode(charset, "replace")
        except LookupError:  # a charset Python does not know
            return self.body.decode("utf-8", "replace")

    def json(
        self,
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        on_duplicate: OnDuplicate = "error",
        what: str | None = None,
    ) -> Any:
        """The body as JSON within the limits; SourceError (naming the server) when it is not."""
        try:
            return load_json(
                self.body,
                max_bytes=max(len(self.body), 1),
                max_depth=max_depth,
                on_duplicate=on_duplicate,
                what=what or f"the answer of {self.source}",
            )
        except DocumentError as exc:
            raise SourceError(self._clean(str(exc), 400)) from None

    def summary(self, max_len: int = 200) -> str:
        """The body as one short readable line for an error message ("" when empty)."""
        head = self.body[: 64 * 1024]
        kind = self.headers.get("Content-Type", "").lower()
        stripped = head.lstrip()
        if "json" in kind or stripped[:1] in (b"{", b"["):
            words = _json_words(head)
            if words is not None:
                return self._clean(words, max_len)
        if "html" in kind or stripped[:1] == b"<":
            title = _TITLE.search(head)
            raw = title.group(1) if title else head
            text = html.unescape(_TAG.sub(" ", raw.decode("utf-8", "replace")))
            return self._clean(" ".join(text.split()), max_len)
        return self._clean(" ".join(head.decode("utf-8", "replace").split()), max_len)

    def raise_for_status(self) -> BoundedResponse:
        """This response when 2xx; else the typed error of its status, with the body's words."""
        if self.ok:
            return self
        said = self.summary()
        said = f": {said}" if said else ""
        status = self.status
        if 300 <= status < 400:
            where = literal(redact_url(self.headers.get("Location", "elsewhere")), max_len=160)
            raise SourceError(
                f"{self.source} redirects to {where} (HTTP {status}): set the url to where it points"
            )
        if status in (401, 403):
            raise PermissionDeniedError(
                f"{self.source} refused us (HTTP {status}){said}: check the token and headers"
            )
        if status == 429:
            retry = self.headers.get("Retry-After")
            when = f", retry after {literal(retry, max_len=40)}" if retry else ""
            raise BackendUnavailableError(
                f"{self.source} is rate limiting us (HTTP 429{when}){said}"
            )
        if status >= 500:
            raise BackendUnavailableError(f"{self.source} failed (HTTP {status}){said}")
        raise SourceError(f"{self.source} rejected the request (HTTP {status}){said}")

    def _clean(self, text: str, max_len: int) -> str:
        return literal(redact(text, self.secrets), max_len=max_len)


def _json_words(data: bytes) -> str | None:
    try:
        body = load_json(data, max_bytes=max(len(data), 1), max_depth=16, on_duplicate="last")
    except DocumentError:
        return None
    if not isinstance(body, dict):
        return None
    parts = [str(body[k]) for k in _ERROR_FIELDS if isinstance(body.get(k), str | int) and body[k]]
    kind = body.get("errorType")
    if isinstance(kind, str) and kind and parts:
        parts.insert(0, kind)  # Prometheus: "bad_data: invalid parameter ..."
    return ": ".join(dict.fromkeys(parts)) if parts else None


MAX_RETRY_AFTER_S = 86_400.0
"""The longest a Retry-After is obeyed: a wrong clock or a typo never silences us for days."""


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header as seconds from now (0 for a time already past, at most a day):
    delay-seconds, an HTTP date, or an ISO 8601 time with a zone (as OFREP's spec writes it);
    None when absent or unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        when = _when(text)
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _when(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return when if when.tzinfo is not None else None  # a time without a zone means nothing here
