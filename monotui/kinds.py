"""Source kinds: the pydantic base of every kind's settings, and the registry that maps a kind's
name to its settings model and its builder.

A router, metrics or flags kind is declared once, in its own module: a settings model (a
`KindSettings` subclass whose `kind` is a `Literal`) and a builder, registered with one
`SourceKind(...)` line in `monotui.registry` (production) or where the demo and the lab register
theirs (`monotui.sim.kinds`). The configuration schema is the registry's: `[rollouts.router]` is
validated by the model of its `kind`, so a kind that is not registered is a config error that
lists the known ones, and the sim's kinds never exist in the production schema.

This module imports nothing of the project but pydantic bases and the value checks
(`monotui.config_checks`), so sources, the config and the registry can all depend on it without an
import circle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monotui.config_checks import MAX_HISTORY_S, MAX_WINDOW_S

_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

Family = Literal["router", "metrics", "flags"]
FAMILIES: tuple[Family, ...] = ("router", "metrics", "flags")

S = TypeVar("S", bound="KindSettings")


class Section(BaseModel):
    """A table of monotui.toml: frozen, and an unknown key is an error (a typo must not pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class KindSettings(Section):
    """The settings of one source kind (`[rollouts.router]`, `[rollouts.metrics]`, ...)."""

    kind: str
    """Which kind of source this is; picks the model that validates the rest of the table."""

    @classmethod
    def of(cls: type[S], value: object, where: str = "") -> S:
        """`value` as this kind's settings; a TypeError names what was given instead (a
        programming error: the registry only hands a builder its own kind's settings)."""
        if not isinstance(value, cls):
            got = getattr(value, "kind", type(value).__name__)
            raise TypeError(f"{where or cls.__name__}: expected {cls.__name__}, got {got!r}")
        return value


class RouterSettings(KindSettings):
    """Where the weights live (`[rollouts.router]`)."""

    name: str = ""
    """The routed resource (VirtualService, HTTPRoute, Rollout); default: the rollout's name."""


class MetricsSettings(KindSettings):
    """Where the metrics come from (`[rollouts.metrics]`)."""

    window: str = "1m"
    """The range of rate() and histogram_quantile(), a Prometheus duration (above 0, at most a
    day)."""
    history_s: float = Field(1800.0, gt=0, le=MAX_HISTORY_S)
    """How far back the charts start, filled by one range query at start (at most 31 days)."""

    @field_validator("window")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not re.fullmatch(r"(\d+(ms|s|m|h|d|w|y))+", value):
            raise ValueError(f"'{value}' is not a Prometheus duration such as 30s, 1m or 5m")
        seconds = sum(int(n) * _UNIT_S[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", value))
        if seconds <= 0:
            raise ValueError(f"window '{value}' must be longer than 0: a rate needs a time span")
        if seconds > MAX_WINDOW_S:
            raise ValueError(
                f"window '{value}' must be at most a day: a longer one hides regressions"
            )
        return value


class FlagsSettings(KindSettings):
    """Where the feature flags come from (`[rollouts.flags]`)."""

    kill_switches: list[str] = Field(default_factory=list)
    """Flags that stop the canary's new code path when turned off."""


_BASES: dict[Family, type[KindSettings]] = {
    "router": RouterSettings,
    "metrics": MetricsSettings,
    "flags": FlagsSettings,
}

DEFAULT_KINDS: dict[Family, str] = {"router": "istio", "metrics": "prometheus", "flags": "none"}
"""The kind a rollout gets when its table (or the table's `kind`) is left out."""


Builder = Callable[[Any, Any, Any], object]
"""(the kind's settings, the RolloutConfig, the BuildContext) -> the source (None for kind
"none"). Typed loosely here so this module needs nothing of the config or the sources."""


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One registered kind: its family, name, settings model and builder."""

    family: Family
    name: str
    settings: type[KindSettings]
    build: Builder

    def __post_init__(self) -> None:
        base = _BASES[self.family]
        if not issubclass(self.settings, base):
            raise TypeError(f"{self.name}: settings must subclass {base.__name__}")


class Registry:
    """The kinds a program knows, by family and name. Immutable; `with_kinds` makes a bigger one."""

    def __init__(self, kinds: Iterable[SourceKind]) -> None:
        self._kinds: dict[tuple[Family, str], SourceKind] = {}
        for kind in kinds:
            key = (kind.family, kind.name)
            if key in self._kinds:
                raise ValueError(f"{kind.family} kind '{kind.name}' registered twice")
            self._kinds[key] = kind

    def with_kinds(self, *kinds: SourceKind) -> Registry:
        """This registry and `kinds` (the demo adds its simulated ones)."""
        return Registry([*self._kinds.values(), *kinds])

    def __iter__(self) -> Iterator[SourceKind]:
        return iter(self._kinds.values())

    def names(self, family: Family) -> tuple[str, ...]:
        return tuple(name for fam, name in self._kinds if fam == family)

    def get(self, family: Family, name: str) -> SourceKind:
        """The kind; ValueError listing the known ones when `name` is not registered."""
        kind = self._kinds.get((family, name))
        if kind is None:
            known = ", ".join(self.names(family)) or "none"
            raise ValueError(f"unknown {family} kind '{name}' (known: {known})")
        return kind

    def validate(self, family: Family, value: object, context: Any = None) -> KindSettings:
        """A table of monotui.toml validated by the model of its `kind` (pydantic errors keep
        their key paths); an instance of a registered model is accepted as it is."""
        if isinstance(value, KindSettings):
            self.get(family, value.kind)
            return value
        if not isinstance(value, dict):
            raise ValueError(f"expected a table with a 'kind' key, got {type(value).__name__}")
        name = value.get("kind", DEFAULT_KINDS[family])
        if not isinstance(name, str) or (family, name) not in self._kinds:
            # A literal error at `.kind` that lists the known names, as a Literal field would give.
            known = [repr(n) for n in self.names(family)]
            expected = (
                ", ".join(known[:-1]) + f" or {known[-1]}" if len(known) > 1 else "".join(known)
            )
            raise ValidationError.from_exception_data(
                f"{family} kind",
                [
                    {
                        "type": "literal_error",
                        "loc": ("kind",),
                        "input": name,
                        "ctx": {"expected": expected},
                    }
                ],
            )
        model = self.get(family, str(name)).settings
        return model.model_validate({**value, "kind": name}, context=context)
