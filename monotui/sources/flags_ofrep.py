"""Feature flags evaluated by an OFREP service (OpenFeature Remote Evaluation Protocol), read-only.

One bulk evaluation per poll: `POST {url}/ofrep/v1/evaluate/flags` with `{"context": ...}` from the
config. The answer's ETag goes back as `If-None-Match`; a 304 keeps the last result without
re-parsing. Each flag shows its evaluated value, variant and reason; a per-flag failure (e.g.
FLAG_NOT_FOUND) shows on that flag. See open-feature/protocol service/openapi.yaml.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator

from monotui.config import RolloutConfig
from monotui.config_checks import MAX_TIMEOUT_S, http_headers, http_url
from monotui.errors import (
    BackendUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    ReadOnlyError,
    SourceError,
)
from monotui.kinds import FlagsSettings
from monotui.model import Flag
from monotui.sources.base import FlagSet

BULK_PATH = "/ofrep/v1/evaluate/flags"
_BULK_EXTRAS = {"metadata", "eventStreams"}  # what a bulk answer may carry besides `flags`

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
        self.url = cfg.url.rstrip("/") + BULK_PATH
        self.context = dict(cfg.context)
        self.timeout_s = cfg.timeout_s
        self._client = httpx.Client(
            timeout=cfg.timeout_s,
            headers={"Accept": "application/json", **cfg.headers},
        )
        self._lock = threading.Lock()
        self._etag: str | None = None
        self._last: FlagSet | None = None

    def read(self) -> FlagSet:
        """Every flag as the service evaluates it now (the last result again on 304)."""
        with self._lock:
            headers = {"If-None-Match": self._etag} if self._etag and self._last else {}
            try:
                response = self._client.post(
                    self.url, json={"context": self.context}, headers=headers
                )
            except httpx.TimeoutException:
                raise BackendUnavailableError(
                    f"OFREP at {self.url} did not answer within {self.timeout_s:g} s "
                    "(raise [rollouts.flags] timeout_s if it is just slow)"
                ) from None
            except httpx.HTTPError as exc:
                raise BackendUnavailableError(
                    f"OFREP at {self.url} is unreachable: {exc or type(exc).__name__}"
                ) from None
            if response.status_code == 304 and self._last is not None:
                return self._last
            if response.status_code != 200:
                raise _http_error(response, self.url)
            flagset = _parse(response, self.url)
            self._etag = response.headers.get("ETag")
            self._last = flagset
            return flagset

    def toggle(self, key: str, expected: FlagSet, *, dry_run: bool = False) -> str:
        """OFREP only evaluates flags; change them where they are defined."""
        raise ReadOnlyError(
            f"flags from OFREP are read-only: change '{key}' in the flag management system"
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def _parse(response: httpx.Response, url: str) -> FlagSet:
    try:
        body = response.json()
    except ValueError:
        raise SourceError(
            f"OFREP at {url} answered 200 with something that is not JSON: {response.text[:120]!r}"
        ) from None
    items = body.get("flags") if isinstance(body, dict) else None
    if isinstance(body, dict) and "flags" not in body and set(body) <= _BULK_EXTRAS:
        # flagd (before v0.11) omits an empty list: `{}` is "no flags", not a wrong url.
        items = []
    if not isinstance(items, list):
        raise SourceError(f"OFREP at {url} answered without a 'flags' list: check the url")
    flags = [_flag(item) for item in items if isinstance(item, dict) and "key" in item]
    errors = tuple(f"flag {f.key}: {f.error}" for f in flags if f.error)
    etag = response.headers.get("ETag")
    version = etag or hashlib.sha256(response.content).hexdigest()
    return FlagSet(tuple(flags), version, errors)


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


def _http_error(response: httpx.Response, url: str) -> Exception:
    status = response.status_code
    detail = _details(response)
    said = f": {detail}" if detail else ""
    if status in (401, 403):
        return PermissionDeniedError(
            f"OFREP at {url} refused us (HTTP {status}){said}: set the credentials in "
            "[rollouts.flags] headers"
        )
    if status == 404:
        return NotFoundError(
            f"OFREP at {url} does not exist (HTTP 404){said}: flags url must be the service's "
            "base URL, without /ofrep/v1"
        )
    if status == 400:
        return SourceError(
            f"OFREP at {url} rejected the request (HTTP 400){said}: check flags.context"
        )
    if status == 429:
        # The OFREP spec names the header Retry-Later on the evaluation paths; HTTP says Retry-After.
        retry = response.headers.get("Retry-After") or response.headers.get("Retry-Later")
        when = f", retry after {retry}" if retry else ""
        return BackendUnavailableError(f"OFREP at {url} is rate limiting us (HTTP 429{when}){said}")
    if status >= 500:
        return BackendUnavailableError(f"OFREP at {url} failed (HTTP {status}){said}")
    return SourceError(f"OFREP at {url} answered HTTP {status}{said}")


def _details(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200]
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("errorCode", "errorDetails") if body.get(k)]
        return ": ".join(parts) if parts else json.dumps(body)[:200]
    return json.dumps(body)[:200]
