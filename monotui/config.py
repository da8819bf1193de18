"""`monotui.toml`: pydantic models of every key, validated, with errors that name the file and key.

Environment variables override the file: `MONOTUI_PROMETHEUS__URL=...` sets `[prometheus] url`
(sections and keys joined by a double underscore, top-level sections only).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
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
from monotui.judge_config import JudgeConfig as JudgeConfig  # re-exported: its old home
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
from monotui.notify.settings import NotifySettings
from monotui.plan import PlanError, validate_steps
from monotui.sources.synthetics.settings import Synthetics


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
    scrape_interval_s: float = Field(15.0, gt=0, le=600)
    """How often this Prometheus scrapes the meshes' metrics (Istio's default 15 s; often 30 s).
    increase() needs two scrapes in its range: a poll counts a span of at least two of these
    (polls in between read nothing new), and history's points are at least two apart. Above 0,
    at most 600."""
    max_concurrent_queries: int = Field(4, ge=1, le=64)
    """Queries monotui sends this Prometheus at once, whatever the number of rollouts (its own
    default `--query.max-concurrency` is 20, shared with every other client)."""
    recording_rules: bool = False
    """Read the recording rules of deploy/prometheus/ (Istio's `workload:` series) when they are
    present (checked once; the raw metrics otherwise). Off by default: a sum of counters recorded
    across pods reads a pod that goes away as a counter reset (see the README)."""
    kubernetes_service: str | None = None
    """Reach Prometheus through the Kubernetes API server's service proxy instead, with the
    kubeconfig's credentials: "NAMESPACE/SERVICE:PORT" (e.g. "istio-system/prometheus:9090").
    Discovery fills it in with the Service that answered; `url`, when set, wins."""

    @field_validator("kubernetes_service")
    @classmethod
    def _service(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(SERVICE_REF, value):
            raise ValueError(
                f"'{value}' is not NAMESPACE/SERVICE:PORT such as istio-system/prometheus:9090"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return http_headers(value)


SERVICE_REF = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?)/([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9-]+)"
"""A Service and its port (number or name) in `[prometheus] kubernetes_service`."""


class KubernetesConfig(_Section):
    """How to reach the cluster, like kubectl."""

    context: str | None = None
    """The kubeconfig context; default: the current context. KUBECONFIG is honoured."""
    kubeconfig: Path | None = None
    """A kubeconfig file; default: $KUBECONFIG, then ~/.kube/config, then in-cluster."""


CLUSTER_NAME = r"[A-Za-z0-9][A-Za-z0-9_.:/@-]*"
"""A cluster's name: a kubeconfig context's, as kind, GKE, EKS (an ARN) and eksctl write them."""


class ClusterConfig(_Section):
    """One cluster of a fleet that spans several (`[[clusters]]`): its context and Prometheus."""

    name: str
    """What the fleet calls it (its column, its badge, `:ctx NAME`): no spaces or commas (a
    kubeconfig context's name such as an EKS ARN or user@cluster is fine)."""
    context: str | None = None
    """The kubeconfig context; default: `name`."""
    prometheus: PrometheusConfig | None = None
    """Its Prometheus; default: `[prometheus]`."""
    color: str | None = None
    """Its badge's colour (a Rich colour: red, yellow, #ff8800); default: red for a name with
    "prod" in it, else one of a few distinct colours."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(CLUSTER_NAME, value):
            raise ValueError(
                f"'{value}' is not a cluster name: start with a letter or digit, then letters, "
                "digits or _ . : / @ - (no spaces, no commas: --context takes a,b,c)"
            )
        return value

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from rich.color import Color, ColorParseError

        try:
            parsed = Color.parse(value)
        except ColorParseError:
            raise ValueError(f"'{value}' is not a colour such as red, cyan or #ff8800") from None
        if parsed.is_default:  # the terminal's own background: a badge nobody would see
            raise ValueError(f"'{value}' is no colour for a badge: name one such as red or cyan")
        return value


class AuditConfig(_Section):
    """The audit log: one JSON line per action."""

    path: Path | None = None
    """Default: $XDG_STATE_HOME/monotui/audit.jsonl (~/.local/state/monotui/audit.jsonl)."""


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
    cluster: str | None = None
    """The `[[clusters]]` name it runs in; default: every configured cluster (or the one
    kubeconfig context when there are none)."""
    synthetics: Synthetics = ()
    """`[[rollouts.synthetics]]`: probes beside the canary (monotui.sources.synthetics.settings)."""

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
    clusters: list[ClusterConfig] = Field(default_factory=list)
    rollouts: list[RolloutConfig] = Field(default_factory=list)
    notify: list[NotifySettings] = Field(default_factory=list)
    """Notification sinks (`[[notify]]`, monotui.notify.settings)."""

    @model_validator(mode="after")
    def _unique(self) -> Config:
        names = [r.name for r in self.rollouts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rollout names must be unique, repeated: {', '.join(dupes)}")
        clusters = [c.name for c in self.clusters]
        dupes = sorted({n for n in clusters if clusters.count(n) > 1})
        if dupes:
            raise ValueError(f"cluster names must be unique, repeated: {', '.join(dupes)}")
        for r in self.rollouts:
            if r.cluster is not None and r.cluster not in clusters:
                known = ", ".join(clusters) or "none: add [[clusters]]"
                raise ValueError(
                    f"rollout {r.name}: cluster '{r.cluster}' is not configured (known: {known})"
                )
        return self

    def cluster(self, name: str | None) -> ClusterConfig | None:
        """The `[[clusters]]` entry `name` (None: no cluster named)."""
        return next((c for c in self.clusters if c.name == name), None)

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
    return parse(read(file, env), source=str(file), kinds=kinds)


def read(file: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A config file as decoded TOML with the environment merged in, not yet validated (a
    discovered configuration is merged with it first). Raises ConfigError."""
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
        return apply_env(data, env)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None


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
            name = entry.get("name") if isinstance(entry, dict) else None  # events[0] is a str
            named = f" ({name})" if isinstance(name, str) else ""
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]{named}"]
            node = entry
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def apply_env(data: dict[str, Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`data` with the MONOTUI_SECTION__KEY variables of `env` (default: the process's) in."""
    env = os.environ if env is None else env
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
