"""`monotui.toml`: pydantic models of every key, validated, with errors that name the file and key.

Environment variables override the file: `MONOTUI_PROMETHEUS__URL=...` sets `[prometheus] url`
(sections and keys joined by a double underscore, top-level sections only).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from monotui.config_checks import (
    MAX_HOLD_S,
    MAX_INTERVAL_S,
    MAX_TIMEOUT_S,
    http_headers,
    http_url,
)
from monotui.errors import ConfigError
from monotui.kinds import (
    FAMILIES,
    Family,
    FlagsSettings,
    KindSettings,
    MetricsSettings,
    Registry,
    RouterSettings,
)
from monotui.kinds import Section as _Section
from monotui.plan import PlanError, validate_steps


class PrometheusConfig(_Section):
    """Where the metrics come from."""

    url: str = "http://prometheus.istio-system:9090"
    """Base URL of the Prometheus HTTP API (http:// or https://, no query)."""
    timeout_s: float = Field(5.0, gt=0, le=MAX_TIMEOUT_S)
    """Deadline of one whole query, in seconds (above 0, at most 300)."""
    bearer_token_file: Path | None = None
    """A file whose content is sent as `Authorization: Bearer ...` (re-read on every poll)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers, e.g. for a multi-tenant proxy (printable ASCII, no line breaks)."""
    verify_tls: bool = True
    """Verify the server's TLS certificate."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return http_headers(value)


class KubernetesConfig(_Section):
    """How to reach the cluster, like kubectl."""

    context: str | None = None
    """The kubeconfig context; default: the current context. KUBECONFIG is honoured."""
    kubeconfig: Path | None = None
    """A kubeconfig file; default: $KUBECONFIG, then ~/.kube/config, then in-cluster."""


class AuditConfig(_Section):
    """The audit log: one JSON line per action."""

    path: Path | None = None
    """Default: $XDG_STATE_HOME/monotui/audit.jsonl (~/.local/state/monotui/audit.jsonl)."""


class JudgeConfig(_Section):
    """The canary judge and the automation's limits (`[rollouts.judge]`).

    Each metric (the error rate, and the p99 latency when `latency` is on) compares the last
    `lookback` samples of canary and baseline with a two-sided Mann-Whitney U test. A metric is HIGH
    when the difference is significant at `confidence`, the canary is the higher one and its median
    exceeds `allowed_increase` times the baseline's; LOW for a significant decrease; else PASS.

    Samples are rates over the metrics window; only samples a window apart are compared (polled every
    5 s with a 1m window, six neighbours share most of their requests, and the U test needs
    independent values). `lookback` counts those independent windows.

    Absolute guards need no statistics: the canary error rate over its newest samples (pooled until
    they cover `min_requests` requests) above `max_error_rate`, or its p99 above `max_latency_ms`, is
    HIGH at once. `min_requests` counts the canary requests behind the judged samples: the sum of the
    canary request rate x the metrics window over them. Fewer than that, or an unknown canary
    request rate, is NO DATA: error rates computed from a handful of requests are noise.
    """

    confidence: float = Field(0.98, gt=0.5, lt=1)
    """Confidence of the Mann-Whitney U test: 0.98 means p < 0.02 counts as a difference."""
    allowed_increase: float = Field(1.0, ge=1.0)
    """Effect-size gate: a significant increase is HIGH only when canary/baseline (medians) exceeds
    this; 1.0 counts any significant increase, 1.2 tolerates +20 %."""
    latency_allowed_increase: float = Field(1.5, ge=1.0)
    """The same gate for p99 latency. Looser by default: a p99 interpolated from histogram buckets
    over the canary's few requests reads high (1.2x on identical versions is common at 1 %)."""
    direction: Literal["increase", "either"] = "increase"
    """increase: a significantly lower canary (LOW) scores as a pass, fewer errors are no failure;
    either: LOW counts against the score like HIGH (Kayenta's default)."""
    max_error_rate: float = Field(0.05, ge=0, le=1)
    """Absolute guard: the newest canary error rate (pooled over `min_requests` requests) above this
    is HIGH, whatever the baseline does."""
    max_latency_ms: float | None = Field(None, gt=0)
    """Absolute guard for the newest canary p99 latency, in ms; none by default."""
    min_requests: float = Field(100.0, ge=0)
    """Fewer canary requests than this behind the judged samples (the sum of canary req/s x the
    metrics window over them) is NO DATA; 0 turns the check off."""
    lookback: int = Field(10, ge=1)
    """How many recent independent samples (a metrics window apart) per side the judge compares."""
    min_samples: int = Field(3, ge=1)
    """A metric with fewer samples than this on either side is NO DATA."""
    latency: bool = True
    """Judge the p99 latency as a second metric (turn off when the metrics have no latency)."""
    pass_score: float = Field(90.0, ge=0, le=100)
    """A score at or above this is PASS."""
    marginal_score: float = Field(75.0, ge=0, le=100)
    """A score at or above this (and below pass_score) is MARGINAL; below it FAIL."""
    failure_limit: int = Field(2, ge=1)
    """Consecutive FAIL verdicts before the automation rolls back (NO DATA does not break a run)."""
    nodata_limit: int = Field(5, ge=1)
    """Consecutive NO DATA verdicts before the automation pauses."""
    latency_critical: bool = False
    """Whether a HIGH p99 latency fails the whole verdict (score 0)."""
    error_rate_critical: bool = True
    """Whether a HIGH error rate fails the whole verdict (score 0)."""

    @model_validator(mode="after")
    def _scores(self) -> JudgeConfig:
        if self.marginal_score > self.pass_score:
            raise ValueError("marginal_score must not exceed pass_score")
        if self.min_samples > self.lookback:
            raise ValueError(
                f"min_samples ({self.min_samples}) must not exceed lookback ({self.lookback}): "
                "the judge would never have enough samples"
            )
        return self


class RolloutConfig(_Section):
    """One rollout: its plan, and where its weights, metrics and flags live.

    `router`, `metrics` and `flags` are validated by the model their `kind` registered
    (`monotui.kinds`): the registry comes in the validation context (`parse(..., kinds=...)`).
    """

    name: str = Field(min_length=1)
    """The rollout's name (also the default router name and metrics service)."""
    namespace: str = "default"
    """The Kubernetes namespace of its route and metrics."""
    steps: tuple[StrictInt, ...] = (1, 5, 10, 25, 50, 100)
    """Canary percentages, whole numbers, strictly increasing; 100 is appended when missing
    (1.5, "5" or true are refused, not rounded)."""
    hold_s: float = Field(300.0, ge=0, le=MAX_HOLD_S)
    """Time at a step with a PASS verdict before the automation may advance (0 to 7 days)."""
    policy: Literal["manual", "auto"] = "manual"
    """manual: only keys move traffic; auto: the judge's verdicts advance, pause and roll back."""
    interval_s: float = Field(5.0, gt=0, le=MAX_INTERVAL_S)
    """Seconds between polls of this rollout's sources (above 0, at most an hour)."""
    router: RouterSettings
    """Where the weights live; default kind istio."""
    metrics: MetricsSettings
    """Where the metrics come from; default kind prometheus."""
    flags: FlagsSettings
    """Where the feature flags come from; default kind none."""
    judge: JudgeConfig = Field(default_factory=JudgeConfig)

    @model_validator(mode="before")
    @classmethod
    def _tables(cls, data: Any) -> Any:
        # A left-out table is the default kind's (kinds.DEFAULT_KINDS), validated like any other.
        if isinstance(data, dict):
            data = {**{family: {} for family in FAMILIES}, **data}
        return data

    @field_validator("router", "metrics", "flags", mode="wrap")
    @classmethod
    def _kind(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> KindSettings:
        kinds = (info.context or {}).get("kinds")
        if not isinstance(kinds, Registry):
            raise ValueError("no source kinds registered (parse the config with kinds=...)")
        family: Family = info.field_name  # type: ignore[assignment]
        return kinds.validate(family, value, info.context)

    @field_validator("steps", mode="before")
    @classmethod
    def _whole_steps(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            for step in value:
                if isinstance(step, bool) or not isinstance(step, int):
                    shown = repr(step) if isinstance(step, str) else str(step).lower()
                    raise ValueError(
                        f"steps are whole percentages like [1, 5, 10, 25, 50, 100]: "
                        f"{shown[:40]} is not one"
                    )
        return value

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        try:
            return validate_steps(value)
        except PlanError as exc:
            raise ValueError(str(exc)) from exc

    @property
    def router_name(self) -> str:
        return self.router.name or self.name


class Config(_Section):
    """The whole file."""

    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    rollouts: list[RolloutConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Config:
        names = [r.name for r in self.rollouts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rollout names must be unique, repeated: {', '.join(dupes)}")
        return self

    def rollout(self, name: str) -> RolloutConfig:
        for r in self.rollouts:
            if r.name == name:
                return r
        known = ", ".join(r.name for r in self.rollouts) or "none"
        raise ConfigError(f"no rollout named '{name}' in the configuration (known: {known})")


_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_s(text: str) -> float:
    """A Prometheus duration ("1m", "1h30m", "500ms") in seconds."""
    return sum(float(n) * _UNITS_S[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))


def default_path() -> Path:
    """./monotui.toml, then $XDG_CONFIG_HOME/monotui/config.toml."""
    local = Path("monotui.toml")
    if local.exists():
        return local
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return xdg / "monotui" / "config.toml"


def load(
    path: Path | str | None = None, env: dict[str, str] | None = None, *, kinds: Registry
) -> Config:
    """Read, merge the environment into, and validate a config file against the source kinds
    `kinds` knows. Raises ConfigError."""
    file = Path(path) if path else default_path()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such file (pass -c FILE, or run 'monotui demo' to try without a cluster)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        merged = _apply_env(data, os.environ if env is None else env)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    return parse(merged, source=str(file), kinds=kinds)


def parse(data: dict[str, Any], source: str = "<config>", *, kinds: Registry) -> Config:
    """Validate decoded TOML. Raises ConfigError naming the key path and what is expected."""
    try:
        return Config.model_validate(data, context={"kinds": kinds})
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc, data)}") from None


def _describe(exc: ValidationError, data: dict[str, Any]) -> str:
    problems = []
    for err in exc.errors():
        loc = _key_path(err["loc"], data)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; see the README for the keys)"
        problems.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(problems)


def _key_path(loc: tuple[int | str, ...], data: Any) -> str:
    """rollouts.0.router.kind -> rollouts[0] (reviews).router.kind"""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            entry = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            named = f" ({name})" if isinstance(name, str) else ""
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]{named}"]
            node = entry
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def _apply_env(data: dict[str, Any], env: Any) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for name, value in env.items():
        if not name.startswith("MONOTUI_") or "__" not in name:
            continue
        section, _, key = name[len("MONOTUI_") :].lower().partition("__")
        if section in ("prometheus", "kubernetes", "audit") and key:
            table = merged.setdefault(section, {})
            if not isinstance(table, dict):
                raise ConfigError(
                    f"[{section}] is a {type(table).__name__}, not a table, so {name} cannot "
                    f"set {section}.{key}: write it as [{section}] with keys under it"
                )
            table[key] = value
    return merged
