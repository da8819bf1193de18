"""The demo world's scenarios, as data: how each version behaves and how the metrics source fails.

A scenario describes one rollout's baseline and canary. The canary's regression (extra errors that
grow with its share of the traffic, slower responses) applies only while its kill-switch flag is on;
with the flag off the canary runs the baseline's code path and behaves like it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from monotui.model import JSONValue

ISTIO_BUCKETS_MS: tuple[float, ...] = (
    1,
    2,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    600000,
    1800000,
    3600000,
)
"""Upper bounds (le) of istio_request_duration_milliseconds, without +Inf."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one version answers: error probability and a lognormal latency."""

    error_p: float = 0.005
    """Probability that a request fails with a 5xx."""
    error_per_pct: float = 0.0
    """Extra error probability per percent of the route's traffic this version takes (load bugs)."""
    latency_median_ms: float = 40.0
    latency_sigma: float = 0.45
    """Sigma of the log of the latency: p99 = median * exp(2.326 * sigma)."""
    share_503: float = 0.3
    """Fraction of the failures answered 503 (the rest 500)."""

    def error_probability(self, traffic_pct: float) -> float:
        """The error probability at `traffic_pct` percent of the route's traffic."""
        return min(1.0, max(0.0, self.error_p + self.error_per_pct * traffic_pct))


@dataclass(frozen=True, slots=True)
class FlagSpec:
    """A feature flag of the demo world, in flagd's terms."""

    key: str
    variants: tuple[tuple[str, JSONValue], ...]
    default_variant: str
    state: str = "ENABLED"
    targeting: str = "static"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One rollout's world: two versions, the flag that gates the canary's new code, metric faults."""

    name: str
    description: str
    baseline: Behaviour = field(default_factory=Behaviour)
    canary: Behaviour = field(default_factory=Behaviour)
    kill_switch: str | None = "new-checkout"
    """While this flag's value is false (or the flag is DISABLED) the canary behaves as baseline."""
    rps: float = 200.0
    """Mean requests per second over both versions."""
    metrics_gap_p: float = 0.0
    """Probability that a metrics poll returns no values (a gap)."""
    metrics_timeout_p: float = 0.0
    """Probability that a metrics poll times out."""
    shared_spike_at_pct: int | None = None
    """When the canary first reaches this weight, both versions fail `shared_spike_p` more often
    for `shared_spike_s` seconds: a failing dependency, not the canary."""
    shared_spike_s: float = 60.0
    shared_spike_p: float = 0.1


HEALTHY = Scenario("healthy", "the canary is as good as the baseline")
BAD_CANARY = Scenario(
    "bad-canary",
    "the canary's errors climb with its traffic while flag new-checkout is on",
    canary=Behaviour(error_per_pct=0.002),
)
LATENCY_REGRESSION = Scenario(
    "latency-regression",
    "the canary's p99 latency is several times the baseline's while flag new-checkout is on",
    canary=Behaviour(latency_median_ms=120.0, latency_sigma=0.7),
)
FLAKY_METRICS = Scenario(
    "flaky-metrics",
    "a healthy canary, but the metrics source has gaps and timeouts",
    metrics_gap_p=0.15,
    metrics_timeout_p=0.1,
)

SHARED_INCIDENT = Scenario(
    "shared-incident",
    "a healthy canary, and a 60 s +10 % 5xx spike on both versions at the 25 % step",
    shared_spike_at_pct=25,
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (HEALTHY, BAD_CANARY, LATENCY_REGRESSION, FLAKY_METRICS, SHARED_INCIDENT)
}
"""Every scenario by name, in the order `--help` lists them."""


def checkout_flags() -> tuple[FlagSpec, ...]:
    """The checkout rollout's flags: its kill switch, a fractional string flag, a disabled one."""
    return (
        FlagSpec("new-checkout", (("on", True), ("off", False)), "on"),
        FlagSpec(
            "checkout-banner",
            (("blue", "blue"), ("green", "green")),
            "green",
            targeting="fractional: blue 10 %, green 90 %",
        ),
        FlagSpec("legacy-payments", (("on", True), ("off", False)), "off", state="DISABLED"),
    )


def reviews_flags() -> tuple[FlagSpec, ...]:
    """The reviews rollout's flags."""
    return (
        FlagSpec("reviews-stars", (("on", True), ("off", False)), "on"),
        FlagSpec(
            "reviews-sort",
            (("newest", "newest"), ("helpful", "helpful")),
            "newest",
            targeting='if country == "NL": helpful, else newest',
        ),
    )


def flag_value(spec: FlagSpec) -> object:
    """What the flag evaluates to: its default variant's value, None when DISABLED."""
    if spec.state != "ENABLED":
        return None
    return dict(spec.variants).get(spec.default_variant)


def is_boolean(spec: FlagSpec) -> bool:
    """Whether every variant is a boolean (an on/off switch)."""
    return {type(v) for _, v in spec.variants} == {bool}


def toggled(spec: FlagSpec) -> FlagSpec:
    """The flag after a toggle: an enabled on/off switch flips its default variant; any other
    flag flips between ENABLED and DISABLED."""
    if is_boolean(spec) and spec.state == "ENABLED":
        other = next(name for name, _ in spec.variants if name != spec.default_variant)
        return replace(spec, default_variant=other)
    return replace(spec, state="DISABLED" if spec.state == "ENABLED" else "ENABLED")
