"""Feature flags evaluated by an OFREP service (OpenFeature Remote Evaluation Protocol), read-only.

One bulk evaluation per poll: `POST {url}/ofrep/v1/evaluate/flags` with `{"context": ...}` from the
config, through the `BoundedClient` (one deadline for the whole request, a size cap, credentials
redacted from messages); the answer is decoded within limits, and a key it lists twice is shown
once, as an error, instead of breaking whoever lists the flags. The answer's ETag goes back as `If-None-Match`; a 304 keeps the last result without
re-parsing. Each flag shows its evaluated value, variant and reason; a per-flag failure (e.g.
FLAG_NOT_FOUND) shows on that flag. A 429 is obeyed: until its Retry-After (seconds, an
ISO 8601 time as OFREP's spec writes it, or an HTTP date) has passed, a poll fails at once with the
same words and sends nothing, so a rate-limited service is not asked again on every poll. See
open-feature/protocol service/openapi.yaml.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, field_validator

from monotui.config import RolloutConfig
from monotui.config_checks import MAX_TIMEOUT_S, http_headers, http_url
from monotui.errors import (
    BackendUnavailableError,
    MonotuiError,
    NotFoundError,
    PermissionDeniedError,
    ReadOnlyError,
    SourceError,
)
from monotui.kinds import FlagsSettings
from monotui.model import Flag
from monotui.outside_text import is_sane_header_value, literal
from monotui.sources.base import FlagSet
from monotui.sources.http_client import BoundedClient, BoundedResponse
from monotui.sources.http_response import retry_after_s

BULK_PATH = "/ofrep/v1/evaluate/flags"
MAX_BYTES = 4 << 20
"""The largest bulk answer taken: thousands of flags fit in a fraction of it."""
_BULK_EXTRAS = {"metadata", "eventStreams"}  # what a bulk answer may carry besides `flags`
MAX_QUIET_S = 3600.0
"""The longest a Retry-After keeps us quiet: a wrong clock or a typo never silences us for days."""

# What the targeting column says for each OpenFeature reason (the raw reason is kept in `reason`).
_REASON_TEXT = {
    "STATIC": "static",
    "DEFAULT": "default",
    "TARGETING_MATCH": "targeting match",
    "SPLIT": "split",
    "CACHED": "cached",
    "DISABLED": "disabled",
    "ERROR": "error",
}


class OfrepSettings(FlagsSettings):
    """`[rollouts.flags] kind = "ofrep"`: any OFREP service, read-only."""

    kind: Literal["ofrep"] = "ofrep"
    url: str
    """The OFREP service's base URL (without /ofrep/v1; http:// or https://)."""
    context: dict[str, Any] = Field(default_factory=dict)
    """The evaluation context sent with the bulk evaluation (e.g. {targetingKey = "ops"})."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers, e.g. {Authorization = "Bearer ..."} or {X-API-Key = "..."}."""
    timeout_s: float = Field(5.0, gt=0, le=MAX_TIMEOUT_S)
    """Deadline of one whole bulk evaluation, in seconds (above 0, at most 300)."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value, "flags url")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return http_headers(value, "flags headers")


class OfrepFlags:
    """Bulk evaluation of every flag for one evaluation context; toggling is not offered."""

    kind = "ofrep"
    can_write = False

    def __init__(self, rollout: RolloutConfig) -> None:
        cfg = OfrepSettings.of(rollout.flags, f"rollout {rollout.name} flags")
        self.context = dict(cfg.context)
        self.timeout_s = cfg.timeout_s
        # One deadline for the whole request, a size cap, credentials redacted in every message.
        self._client = BoundedClient(
            cfg.url.rstrip("/"),
            timeout_s=cfg.timeout_s,
            max_bytes=MAX_BYTES,
            headers={"Accept": "application/json", **cfg.headers},
            name="OFREP",
        )
        self.url = self._client.source  # "OFREP at http://..." (redacted), for messages
        self._lock = threading.Lock()
        self._etag: str | None = None
        self._last: FlagSet | None = None
        # After a 429: until when (time.monotonic) we send nothing, and the error we repeat.
        self._quiet_until = 0.0
        self._rate_limited: BackendUnavailableError | None = None

    def read(self) -> FlagSet:
        """Every flag as the service evaluates it now (the last result again on 304)."""
        with self._lock:
            if self._rate_limited is not None and time.monotonic() < self._quiet_until:
                raise self._rate_limited
            headers = {"If-None-Match": self._etag} if self._etag and self._last else {}
            response = self._client.post(
                BULK_PATH.lstrip("/"), json={"context": self.context}, headers=headers
            )
            if response.status == 304 and self._last is not None:
                return self._last
            if response.status != 200:
                error = _http_error(response, self.url)
                wait = _retry_after(response) if response.status == 429 else None
                if wait and isinstance(error, BackendUnavailableError):
                    self._quiet_until = time.monotonic() + min(wait, MAX_QUIET_S)
                    self._rate_limited = error
                raise error
            flagset = _parse(response, self.url)
            etag = response.headers.get("ETag")
            self._etag = etag if etag and is_sane_header_value(etag) else None
            self._last = flagset
            return flagset

    def toggle(self, key: str, expected: FlagSet, *, dry_run: bool = False) -> str:
        """OFREP only evaluates flags; change them where they are defined."""
        raise ReadOnlyError(
            f"flags from OFREP are read-only: change '{literal(key, max_len=80)}' in the flag "
            "management system"
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def _parse(response: BoundedResponse, url: str) -> FlagSet:
    body = response.json(what=f"the answer of {url}")
    items = body.get("flags") if isinstance(body, dict) else None
    if isinstance(body, dict) and "flags" not in body and set(body) <= _BULK_EXTRAS:
        # flagd (before v0.11) omits an empty list: `{}` is "no flags", not a wrong url.
        items = []
    if not isinstance(items, list):
        raise SourceError(f"{url} answered without a 'flags' list: check the url")
    flags: dict[str, Flag] = {}
    errors: list[str] = []
    for item in items:
        if not isinstance(item, dict) or "key" not in item:
            continue
        flag = _flag(item)
        if flag.key in flags:
            # The same key twice: which answer holds is not ours to guess. One row, in error.
            twice = "the service answered this key twice: check the flag definitions"
            flags[flag.key] = replace(flags[flag.key], error=twice, state="UNKNOWN")
            errors.append(f"flag {literal(flag.key, max_len=80)}: {twice}")
            continue
        flags[flag.key] = flag
        if flag.error:
            errors.append(f"flag {literal(flag.key, max_len=80)}: {flag.error}")
    etag = response.headers.get("ETag")
    version = etag or hashlib.sha256(response.body).hexdigest()
    return FlagSet(tuple(flags.values()), version, tuple(dict.fromkeys(errors)))


def _flag(item: dict[str, Any]) -> Flag:
    key = str(item["key"])
    code = item.get("errorCode")
    details = str(item.get("errorDetails") or "")
    # flagd reports a DISABLED flag as FLAG_DISABLED (older) or FLAG_NOT_FOUND "flag `k` is
    # disabled" (newer): that is the flag's state, not a fault.
    if code == "FLAG_DISABLED" or (code == "FLAG_NOT_FOUND" and details.endswith("is disabled")):
        return Flag(key, "DISABLED", None, targeting="disabled", reason="DISABLED")
    if code:
        error = f"{code}: {details}" if details else str(code)
        return Flag(key, "UNKNOWN", None, targeting="error", reason="ERROR", error=error)
    reason = item.get("reason")
    reason_text = str(reason) if reason is not None else None
    variant = item.get("variant")
    targeting = _REASON_TEXT.get(reason_text or "", (reason_text or "evaluated").lower())
    if "value" not in item:
        # OFREP's code-default answer (flagd: defaultVariant null): the app uses its own default.
        targeting += " (code default)"
    return Flag(
        key=key,
        state="DISABLED" if reason_text == "DISABLED" else "ENABLED",
        default_variant=str(variant) if variant is not None else None,
        value=item.get("value"),
        targeting=targeting,
        toggle=None,
        reason=reason_text,
    )


def _http_error(response: BoundedResponse, url: str) -> Exception:
    status = response.status
    detail = _details(response)
    said = f": {detail}" if detail else ""
    if status in (401, 403):
        return PermissionDeniedError(
            f"{url} refused us (HTTP {status}){said}: set the credentials in "
            "[rollouts.flags] headers"
        )
    if status == 404:
        return NotFoundError(
            f"{url} does not exist (HTTP 404){said}: flags url must be the service's "
            "base URL, without /ofrep/v1"
        )
    if status == 400:
        return SourceError(f"{url} rejected the request (HTTP 400){said}: check flags.context")
    if status == 429:
        # The OFREP spec names the header Retry-Later on the evaluation paths; HTTP says Retry-After.
        retry = response.headers.get("Retry-After") or response.headers.get("Retry-Later")
        when = f", retry after {literal(retry, max_len=40)}" if retry else ""
        return BackendUnavailableError(f"{url} is rate limiting us (HTTP 429{when}){said}")
    if status >= 500:
        return BackendUnavailableError(f"{url} failed (HTTP {status}){said}")
    try:
        response.raise_for_status()  # redirects and the rest, in the bounded client's words
    except MonotuiError as exc:
        return exc
    return SourceError(f"{url} answered HTTP {status}{said}")


def _retry_after(response: BoundedResponse) -> float | None:
    """Seconds to wait from a 429's Retry-After; None when absent, unreadable or past."""
    headers = response.headers
    return retry_after_s(headers.get("Retry-After") or headers.get("Retry-Later")) or None


def _details(response: BoundedResponse) -> str:
    """OFREP's own words for a failure ("INVALID_CONTEXT: ..."), else the body in one line."""
    try:
        body = response.json(on_duplicate="last")
    except SourceError:
        body = None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("errorCode", "errorDetails") if body.get(k)]
        if parts:
            return literal(": ".join(parts), max_len=200)
    return response.summary()
