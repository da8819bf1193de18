"""The settings of `[[rollouts.synthetics]]`: each probe named, with a kind (`blackbox` or `http`)
and the tracks it reaches.

    [[rollouts.synthetics]]
    name = "checkout-submit"
    kind = "http"
    url = "https://shop.example.com/checkout"
    method = "POST"
    body = '{"cart": [42]}'
    headers = { "content-type" = "application/json" }
    secret_headers = { "authorization" = "file:/run/secrets/probe-token" }
    expect_status = [200]
    expect_json = "$.order.status"
    expect_json_equals = "confirmed"
    tracks = ["baseline", "canary", "canary+flag"]
    flag = { key = "new-checkout", headers = { "x-flag-new-checkout" = "on" } }

    [[rollouts.synthetics]]
    name = "home-page"
    kind = "blackbox"
    match = { baseline = 'instance="http://shop-v1/"', canary = 'instance="http://shop-v2/"' }

Imports only pydantic and monotui.kinds (the configuration imports it).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from monotui.kinds import Section

Track = Literal["baseline", "canary", "canary+flag"]

TRACK_HEADER = "x-monotui-track"
"""The header a probe sends to reach one version through the route monotui adds (istio and
gateway-api routers): `x-monotui-track: canary` or `baseline`."""

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
_MATCHER = re.compile(r'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*')
_SECRET = re.compile(r"(file|env):.+")


class FlagVariant(Section):
    """How the `canary+flag` track forces a flag's variant: request headers (an OpenFeature
    evaluation-context header, a flag override header) and/or cookies the app reads."""

    key: str = Field(min_length=1, max_length=200)
    """The flag forced (shown in the panel and the curl line)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Headers sent on the canary+flag track only, e.g. {"x-flag-new-checkout" = "on"}."""
    cookies: dict[str, str] = Field(default_factory=dict)
    """Cookies sent on the canary+flag track only, e.g. {"new-checkout" = "on"}."""


class SyntheticSettings(Section):
    """What every probe has: a name, a kind, the tracks it reaches."""

    name: str = Field(pattern=f"^{_NAME}$")
    """The probe's name (letters, digits, . _ -): a row of the panel, a key of status --json."""
    kind: str
    """blackbox | http."""
    tracks: tuple[Track, ...] = ("baseline", "canary")
    """The tracks probed: baseline and at least one of canary, canary+flag."""
    flag: FlagVariant | None = None
    """How the canary+flag track forces its variant (required with that track)."""

    @field_validator("tracks")
    @classmethod
    def _tracks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a track is listed twice")
        if "baseline" not in value or len(value) < 2:
            raise ValueError(
                "list baseline and at least one canary track: a probe is judged by comparing "
                "the canary with the baseline"
            )
        return value

    @model_validator(mode="after")
    def _flag(self) -> SyntheticSettings:
        if "canary+flag" in self.tracks and self.flag is None:
            raise ValueError(
                'the canary+flag track needs flag = { key = "...", headers = {...} } (or '
                "cookies): how the probe forces the variant"
            )
        return self


class BlackboxSettings(SyntheticSettings):
    """`kind = "blackbox"`: blackbox_exporter's results in Prometheus (probe_success,
    probe_duration_seconds, probe_http_status_code), one set of label matchers per track."""

    kind: Literal["blackbox"] = "blackbox"
    match: dict[Track, str]
    """Per track, label matchers without braces that select that track's probe series, e.g.
    'job="blackbox", instance="http://checkout-v2:8080/checkout"'. Its keys are the tracks."""
    tracks: tuple[Track, ...] = ()
    interval_s: float | None = Field(None, gt=0, le=86400)
    """How often Prometheus scrapes the probe (a result older than two of these is STALE);
    default: the rollout's interval_s."""

    @model_validator(mode="before")
    @classmethod
    def _tracks_from_match(cls, data: Any) -> Any:
        if isinstance(data, dict) and "tracks" not in data and isinstance(data.get("match"), dict):
            order = ("baseline", "canary", "canary+flag")
            data = {**data, "tracks": tuple(t for t in order if t in data["match"])}
        return data

    @field_validator("match")
    @classmethod
    def _matchers(cls, value: dict[str, str]) -> dict[str, str]:
        for track, text in value.items():
            parts = _split_matchers(text)
            if not parts or not all(_MATCHER.fullmatch(p) for p in parts):
                raise ValueError(
                    f"{track}: {text!r} is not label matchers such as "
                    'instance="http://checkout-v2/checkout" (no braces)'
                )
        return value

    @model_validator(mode="after")
    def _same_tracks(self) -> BlackboxSettings:
        if set(self.tracks) != set(self.match):
            raise ValueError("tracks must be the keys of match (or leave tracks out)")
        return self


class HttpProbeSettings(SyntheticSettings):
    """`kind = "http"`: a request monotui sends itself, once per track every `interval_s`."""

    kind: Literal["http"] = "http"
    url: str = Field(min_length=1)
    """The URL probed (http:// or https://). Through the route, unless `urls` names a URL per
    track: then the probe sends `x-monotui-track` and monotui adds a route matching it."""
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    """Request headers (not secret: they are shown in the `h` curl line)."""
    secret_headers: dict[str, str] = Field(default_factory=dict)
    """Headers whose values are secrets, each "file:PATH" (read at every probe, stripped) or
    "env:NAME"; never shown, logged or printed."""
    body: str | None = None
    """The request body, sent as it is."""
    expect_status: tuple[int, ...] = (200,)
    """The statuses that pass."""
    expect_body: str | None = None
    """A substring the body must contain."""
    expect_json: str | None = None
    """A JSONPath ($.a.b[0]) that must exist in the JSON body."""
    expect_json_equals: Any = None
    """The value expected at `expect_json` (any JSON value; left out: only present)."""
    interval_s: float | None = Field(None, gt=0, le=86400)
    """Seconds between probes of a track; default: the rollout's interval_s."""
    timeout_s: float = Field(5.0, gt=0, le=300)
    """The whole request's deadline, in seconds."""
    verify_tls: bool = True
    """Verify the server's TLS certificate."""
    urls: dict[Track, str] = Field(default_factory=dict)
    """Per track, a URL that reaches that version directly (its own Service): replaces `url`
    on that track, and no header route is needed for it."""
    max_bytes: int = Field(1024 * 1024, ge=1, le=64 * 1024 * 1024)
    """The largest body read; a longer one fails the probe."""

    @field_validator("expect_status")
    @classmethod
    def _statuses(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or not all(100 <= s <= 599 for s in value):
            raise ValueError("expect_status must list HTTP statuses (100..599)")
        return value

    @field_validator("secret_headers")
    @classmethod
    def _secrets(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            if not _SECRET.fullmatch(ref):
                # The value is not echoed: it may be the secret itself, pasted by mistake.
                raise ValueError(
                    f"{key}: a secret header is 'file:PATH' or 'env:NAME', never the value itself"
                )
        return value

    @field_validator("expect_json")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            from monotui.sources.synthetics.jsonpath import parse

            parse(value)  # raises ValueError with what is wrong
        return value

    @model_validator(mode="after")
    def _equals_needs_path(self) -> HttpProbeSettings:
        if "expect_json_equals" in self.model_fields_set and self.expect_json is None:
            raise ValueError("expect_json_equals needs expect_json (the path of the value)")
        return self

    def reached_by_header(self, track: str) -> bool:
        """Whether `track` is reached through the route with the track header (no own URL)."""
        return track not in self.urls


def header_value(track: str) -> str:
    """The value of x-monotui-track that reaches `track`'s version (canary+flag: the canary)."""
    return "baseline" if track == "baseline" else "canary"


def _split_matchers(text: str) -> list[str]:
    """'a="x", b=~"y,z"' -> ['a="x"', ' b=~"y,z"']: commas outside quotes split."""
    parts, current, quoted, escaped = [], "", False, False
    for ch in text:
        if escaped:
            current, escaped = current + ch, False
            continue
        if ch == "\\":
            current, escaped = current + ch, True
            continue
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def _unique(probes: tuple[SyntheticSettings, ...]) -> tuple[SyntheticSettings, ...]:
    names = [p.name for p in probes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"synthetics names must be unique, repeated: {', '.join(dupes)}")
    return probes


Synthetic = Annotated[BlackboxSettings | HttpProbeSettings, Field(discriminator="kind")]
Synthetics = Annotated[tuple[Synthetic, ...], AfterValidator(_unique)]
"""`[[rollouts.synthetics]]`: the field type of RolloutConfig.synthetics."""
