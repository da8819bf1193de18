"""The simulated world: request traffic, two versions per rollout, Istio-style counters, faults.

No Textual and no threads of its own. Time is a simulated POSIX clock that moves in 1-second ticks
only when asked (`advance_to`), or lazily from a `follow` function (the demo's real-time mode).
Every random draw comes from one seeded `random.Random` in tick order, so a seed and a sequence of
calls always give the same counters. Large Poisson and binomial counts use the normal approximation:
an hour of simulated time costs a fraction of a second.
"""

from __future__ import annotations

import math
import random
import threading
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from monotui.errors import ConflictError, NotFoundError
from monotui.model import Weights
from monotui.sim import sampling
from monotui.sim.scenarios import (
    ISTIO_BUCKETS_MS,
    Behaviour,
    FlagSpec,
    Scenario,
    flag_value,
    toggled,
)

EPOCH = 1767225600.0
"""2026-01-01T00:00:00Z: where the demo's clock starts, so runs are reproducible."""

BASELINE, CANARY = "v1", "v2"
"""The destination_version label values of the two versions."""

CODES = (200, 500, 503)
FAULTS = ("metrics-timeout", "router-conflict", "error-spike")
ERROR_SPIKE_P = 0.1
"""Extra error probability of every version of a rollout during an error-spike fault."""

# Layout of one version's counter vector: requests by code, latency sum, cumulative buckets.
_SUM = len(CODES)
_B0 = _SUM + 1
_WIDTH = _B0 + len(ISTIO_BUCKETS_MS)


@dataclass(frozen=True, slots=True)
class VersionCounters:
    """Cumulative Istio-style counters of one version (what a Prometheus exporter publishes)."""

    requests: Mapping[int, int]
    """istio_requests_total by response_code."""
    buckets: tuple[tuple[float, int], ...]
    """istio_request_duration_milliseconds_bucket: (le, cumulative count), +Inf is `count`."""
    sum_ms: float
    count: int


@dataclass(frozen=True, slots=True)
class SpanCounts:
    """What one version served over a span: requests, 5xx, and the duration histogram's
    cumulative bucket counts (one per ISTIO_BUCKETS_MS bound, then +Inf)."""

    requests: float
    errors: float
    buckets: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RolloutInfo:
    """The labels of one simulated rollout's traffic."""

    name: str
    namespace: str
    service: str
    baseline: str = BASELINE
    canary: str = CANARY


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault injected until simulated time `until` (rollout None: every rollout)."""

    kind: str
    rollout: str | None
    until: float


@dataclass
class _Rollout:
    info: RolloutInfo
    scenario: Scenario
    weights: Weights
    flags: dict[str, FlagSpec]
    ring_s: int
    route_version: int = 1
    flags_version: int = 1
    paused_by: str | None = None  # the automation pause stored with the route; None: not paused
    shared_spike_until: float | None = None  # the scenario's shared incident, once started
    traffic_canary_pct: float | None = None  # a mesh that ignores the route: the canary's share
    counters: dict[str, array] = field(default_factory=dict)  # type: ignore[type-arg]
    ring: list[tuple[int, array, array] | None] = field(default_factory=list)  # type: ignore[type-arg]

    def __post_init__(self) -> None:
        self.counters = {v: array("d", bytes(8 * _WIDTH)) for v in (BASELINE, CANARY)}
        self.ring = [None] * self.ring_s


class World:
    """Seeded traffic for a set of rollouts, with a simulated clock. Thread-safe."""

    def __init__(
        self,
        seed: int = 7,
        *,
        start: float = EPOCH,
        ring_s: int = 1920,
        wave_from_start: bool = False,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.t = float(start)
        # `wave_from_start`: the traffic's wave runs from the world's start, not from the clock,
        # so a world started "three hours ago" (the tests' backfills) draws the same traffic
        # whatever the minute it starts in. Off, the demo draws what it always drew.
        self._wave_shift = int(EPOCH) - int(start) if wave_from_start else 0
        self.ring_s = ring_s
        self.follow: Callable[[], float] | None = None
        """When set, every `now()` first advances the world to `follow()` (real-time mode)."""
        self.faults: tuple[Fault, ...] = ()
        self._rollouts: dict[str, _Rollout] = {}
        self._lock = threading.RLock()

    # --- set-up --------------------------------------------------------------------------------

    def add_rollout(
        self,
        name: str,
        namespace: str,
        scenario: Scenario,
        *,
        weights: Weights,
        flags: tuple[FlagSpec, ...] = (),
        service: str | None = None,
    ) -> RolloutInfo:
        """Add a rollout whose route starts at `weights`."""
        info = RolloutInfo(name, namespace, service or name)
        with self._lock:
            self._rollouts[name] = _Rollout(
                info, scenario, weights, {f.key: f for f in flags}, self.ring_s
            )
        return info

    @property
    def rollouts(self) -> tuple[RolloutInfo, ...]:
        with self._lock:
            return tuple(r.info for r in self._rollouts.values())

    def scenario(self, rollout: str) -> Scenario:
        return self._get(rollout).scenario

    def _get(self, rollout: str) -> _Rollout:
        try:
            return self._rollouts[rollout]
        except KeyError:
            raise NotFoundError(f"no simulated rollout named '{rollout}'") from None

    # --- time ----------------------------------------------------------------------------------

    def now(self) -> float:
        """The simulated time, after catching up with `follow` when it is set."""
        follow = self.follow
        if follow is not None:
            self.advance_to(follow(), skip_beyond_ring=True)
        return self.t

    def advance(self, dt: float) -> None:
        self.advance_to(self.t + dt)

    def advance_to(self, t: float, *, skip_beyond_ring: bool = False) -> None:
        """Simulate every whole second up to `t`; never goes back. `skip_beyond_ring` simulates
        only the last ring's worth of a long jump."""
        with self._lock:
            if t <= self.t:
                return
            first, last = math.floor(self.t) + 1, math.floor(t)
            if skip_beyond_ring and last - first >= self.ring_s:
                # A long gap (a suspended laptop in real-time mode): only the part the ring can hold
                # is simulated; the skipped time reads as missing data, never as zero traffic.
                first = last - self.ring_s + 1
            for second in range(first, last + 1):
                self._tick(second)
            self.t = t
            if self.faults:
                self.faults = tuple(f for f in self.faults if f.until > t)

    def _tick(self, second: int) -> None:
        rng = self.rng
        for ro in self._rollouts.values():
            sc = ro.scenario
            phase = second + self._wave_shift
            wave = 1 + 0.08 * math.sin(2 * math.pi * phase / 900) + 0.03 * math.sin(phase / 21.7)
            total = sampling.poisson(rng, sc.rps * wave)
            share = ro.weights.canary if ro.traffic_canary_pct is None else ro.traffic_canary_pct
            canary_n = sampling.binomial(rng, total, share / 100)
            spike = ERROR_SPIKE_P if self._active("error-spike", ro.info.name, second) else 0.0
            if sc.shared_spike_at_pct is not None:
                if ro.shared_spike_until is None and ro.weights.canary >= sc.shared_spike_at_pct:
                    ro.shared_spike_until = second + sc.shared_spike_s
                if ro.shared_spike_until is not None and second < ro.shared_spike_until:
                    spike = max(spike, sc.shared_spike_p)
            for version, n, pct in (
                (BASELINE, total - canary_n, ro.weights.stable),
                (CANARY, canary_n, ro.weights.canary),
            ):
                behaviour = self._behaviour(ro, version)
                p_err = min(1.0, behaviour.error_probability(pct) + spike)
                _serve(rng, ro.counters[version], n, p_err, behaviour)
            ro.ring[second % ro.ring_s] = (
                second,
                array("d", ro.counters[BASELINE]),
                array("d", ro.counters[CANARY]),
            )

    def _behaviour(self, ro: _Rollout, version: str) -> Behaviour:
        sc = ro.scenario
        if version == BASELINE:
            return sc.baseline
        switch = ro.flags.get(sc.kill_switch) if sc.kill_switch else None
        if switch is not None and not flag_value(switch):
            return sc.baseline  # the new code path is off: the canary runs the old one
        return sc.canary

    def error_probability(self, rollout: str, version: str) -> float:
        """The error probability `version` has right now (what the scenario makes it)."""
        with self._lock:
            ro = self._get(rollout)
            pct = ro.weights.canary if version == CANARY else ro.weights.stable
            return self._behaviour(ro, version).error_probability(pct)

    # --- counters ------------------------------------------------------------------------------

    def counters(self, rollout: str) -> dict[str, VersionCounters]:
        """The cumulative counters of each version ("v1", "v2") now, for a Prometheus exporter."""
        with self._lock:
            ro = self._get(rollout)
            return {v: _as_counters(vec) for v, vec in ro.counters.items()}

    def ring_points(self) -> int:
        """How many per-second snapshots are stored over all rollouts (bounded by ring_s each)."""
        with self._lock:
            return sum(1 for ro in self._rollouts.values() for e in ro.ring if e is not None)

    def counts(self, rollout: str, start: float, end: float) -> dict[str, SpanCounts] | None:
        """What each version ("v1", "v2") served over (start, end], from the per-second ring, as
        Prometheus' increase() would read the counters; None when the ring does not cover it."""
        with self._lock:
            ro = self._get(rollout)
            end_s, start_s = math.floor(end), math.floor(start)
            if end_s <= start_s:
                start_s = end_s - 1
            last, first = _entry(ro, end_s), _entry(ro, start_s)
        if last is None or first is None:
            return None
        out = {}
        for version, i in ((BASELINE, 1), (CANARY, 2)):
            now_vec, then_vec = last[i], first[i]
            assert isinstance(now_vec, array) and isinstance(then_vec, array)
            d = [a - b for a, b in zip(now_vec, then_vec, strict=True)]
            requests = sum(d[:_SUM])
            buckets = tuple(d[_B0:]) + (requests,)
            out[version] = SpanCounts(requests, d[1] + d[2], buckets)
        return out

    # --- the router ----------------------------------------------------------------------------

    def route(self, rollout: str) -> tuple[Weights, int]:
        """The route's weights and its version (changes on every write)."""
        with self._lock:
            ro = self._get(rollout)
            return ro.weights, ro.route_version

    def write_weights(self, rollout: str, target: Weights, expected_version: int) -> int:
        """Compare-and-set: write `target` only if the route is still at `expected_version`."""
        with self._lock:
            ro = self._get(rollout)
            if self._active("router-conflict", rollout, self.t):
                ro.route_version += 1  # another writer got in first (same weights, new version)
            if ro.route_version != expected_version:
                raise ConflictError(
                    f"route {ro.info.namespace}/{ro.info.name} changed since it was read "
                    f"(version {expected_version}, now {ro.route_version}): re-read and retry"
                )
            ro.weights = Weights(target.stable, target.canary)
            ro.route_version += 1
            return ro.route_version

    def pause(self, rollout: str) -> str | None:
        """The automation pause stored with the route: who and why, or None when not paused."""
        with self._lock:
            return self._get(rollout).paused_by

    def set_pause(self, rollout: str, by: str | None, expected: str | None) -> None:
        """Store the automation pause (`by`, None to resume) if it is still `expected`, else raise
        ConflictError. Like an annotation, it leaves the weights and their version alone."""
        with self._lock:
            ro = self._get(rollout)
            if ro.paused_by != expected:
                raise ConflictError(
                    f"the automation pause of {ro.info.namespace}/{ro.info.name} changed since "
                    "it was read: re-read and retry"
                )
            ro.paused_by = by

    def ignore_route(self, rollout: str, canary_pct: float | None) -> None:
        """From now on `canary_pct` percent of the requests reach the canary whatever the route
        says (a second VirtualService, a Service selecting both versions); None: follow it."""
        with self._lock:
            self._get(rollout).traffic_canary_pct = canary_pct

    def set_weights(self, rollout: str, weights: Weights) -> None:
        """Someone else writes the route (kubectl edit): the weights and version change."""
        with self._lock:
            ro = self._get(rollout)
            ro.weights = Weights(weights.stable, weights.canary)
            ro.route_version += 1

    # --- flags ---------------------------------------------------------------------------------

    def flags(self, rollout: str) -> tuple[tuple[FlagSpec, ...], int]:
        with self._lock:
            ro = self._get(rollout)
            return tuple(ro.flags.values()), ro.flags_version

    def toggle_flag(self, rollout: str, key: str, expected_version: int | None = None) -> FlagSpec:
        """Flip a boolean flag's default variant, or a non-boolean flag's state; compare-and-set
        on the flag set's version when `expected_version` is given."""
        with self._lock:
            ro = self._get(rollout)
            if expected_version is not None and expected_version != ro.flags_version:
                raise ConflictError(
                    f"the flags of {rollout} changed since they were read: re-read and retry"
                )
            spec = ro.flags.get(key)
            if spec is None:
                raise NotFoundError(f"no flag '{key}' in the simulated flags of {rollout}")
            ro.flags[key] = toggled(spec)
            ro.flags_version += 1
            return ro.flags[key]

    # --- faults --------------------------------------------------------------------------------

    def inject(self, kind: str, duration_s: float = 60.0, *, rollout: str | None = None) -> Fault:
        """Start a fault for `duration_s` simulated seconds: metrics-timeout (every metrics poll
        times out), router-conflict (another writer wins every write race), error-spike (+10 %
        errors on both versions)."""
        if kind not in FAULTS:
            raise NotFoundError(f"unknown fault '{kind}' (known: {', '.join(FAULTS)})")
        with self._lock:
            if rollout is not None:
                self._get(rollout)
            fault = Fault(kind, rollout, self.t + duration_s)
            self.faults = (*self.faults, fault)
            return fault

    def fault_active(self, kind: str, rollout: str) -> bool:
        with self._lock:
            return self._active(kind, rollout, self.t)

    def _active(self, kind: str, rollout: str, t: float) -> bool:
        return any(
            f.kind == kind and f.rollout in (None, rollout) and t < f.until for f in self.faults
        )


def _entry(ro: _Rollout, second: int) -> tuple[int, array, array] | None:  # type: ignore[type-arg]
    e = ro.ring[second % ro.ring_s]
    return e if e is not None and e[0] == second else None


def _serve(rng: random.Random, vec: array, n: int, p_err: float, b: Behaviour) -> None:  # type: ignore[type-arg]
    """Count `n` requests of one second into a version's counters."""
    if n <= 0:
        return
    errors = sampling.binomial(rng, n, p_err)
    e503 = sampling.binomial(rng, errors, b.share_503)
    vec[0] += n - errors
    vec[1] += errors - e503
    vec[2] += e503
    mu, sigma = math.log(b.latency_median_ms), b.latency_sigma
    mean = math.exp(mu + sigma * sigma / 2)
    sd = mean * math.sqrt(math.exp(sigma * sigma) - 1)
    vec[_SUM] += max(0.0, n * mean + rng.gauss(0.0, sd * math.sqrt(n)))
    cumulative = 0
    for i, k in enumerate(sampling.multinomial(rng, n, _bucket_probs(mu, sigma))):
        cumulative += k
        if i < len(ISTIO_BUCKETS_MS):
            vec[_B0 + i] += cumulative


_PROBS: dict[tuple[float, float], tuple[float, ...]] = {}


def _bucket_probs(mu: float, sigma: float) -> tuple[float, ...]:
    """Probability of each (le[i-1], le[i]] interval of a lognormal latency, +Inf last."""
    key = (mu, sigma)
    cached = _PROBS.get(key)
    if cached is None:
        cdf = [
            0.5 * (1 + math.erf((math.log(le) - mu) / (sigma * math.sqrt(2))))
            for le in ISTIO_BUCKETS_MS
        ]
        edges = [0.0, *cdf, 1.0]
        cached = tuple(max(0.0, b - a) for a, b in zip(edges, edges[1:], strict=False))
        _PROBS[key] = cached
    return cached


def _as_counters(vec: array) -> VersionCounters:  # type: ignore[type-arg]
    count = int(sum(vec[:_SUM]))
    return VersionCounters(
        requests={code: int(vec[i]) for i, code in enumerate(CODES)},
        buckets=tuple((le, int(vec[_B0 + i])) for i, le in enumerate(ISTIO_BUCKETS_MS)),
        sum_ms=float(vec[_SUM]),
        count=count,
    )
