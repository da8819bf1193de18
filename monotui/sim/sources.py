"""The simulated world behind the source Protocols of monotui/sources/base.py: SimRouter,
SimMetrics and SimFlags. Each reads the world's clock first, so in real-time mode the world
catches up lazily on every call."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    ReadOnlyError,
    SourceError,
)
from monotui.metrics import ERROR_RATE, LATENCY, Histogram, Metric, side_of, slow_threshold
from monotui.model import Flag, Sample, Weights
from monotui.sim.scenarios import ISTIO_BUCKETS_MS, FlagSpec, flag_value, is_boolean, toggled
from monotui.sim.world import BASELINE, CANARY, World
from monotui.sources import jsonpatch
from monotui.sources.base import FlagSet, RouteState, StoredPause, WriteResult
from monotui.sources.kube_router import BY_KEY, PAUSED_KEY, pause_ops
from monotui.sources.router_istio import IstioSettings, VirtualServiceRoute

TIMEOUT_MESSAGE = "prometheus query timed out after 5s"


class SimRouter:
    """The simulated route, seen as the VirtualService it stands for: reads and compare-and-set
    writes on a version that changes on every write, with the patches IstioRouter would send for
    that VirtualService (production code: a dry-run shows exactly what a real write sends).
    Built with `can_write=False` (a read-only session) it refuses every write, like the others."""

    kind = "sim"

    def __init__(self, world: World, rollout: str, *, can_write: bool = True) -> None:
        self.world = world
        self.rollout = rollout
        self.can_write = can_write
        info = next((r for r in world.rollouts if r.name == rollout), None)
        if info is None:
            known = ", ".join(r.name for r in world.rollouts) or "none"
            raise NotFoundError(f"no simulated rollout named '{rollout}' (known: {known})")
        self.info = info
        self.resource = f"sim route {info.namespace}/{info.name}"
        settings = IstioSettings(kind="istio", name=info.name, stable=BASELINE, canary=CANARY)
        self.route = VirtualServiceRoute(settings, info.namespace, self.resource)

    def close(self) -> None:
        """Nothing to release."""

    def read(self) -> RouteState:
        self.world.now()
        weights, version = self.world.route(self.rollout)
        return self._state(weights, version)

    def virtual_service(self, state: RouteState) -> dict[str, Any]:
        """The VirtualService this route stands for, as it was when `state` was read."""
        pause = state.pause
        metadata: dict[str, Any] = {
            "name": self.info.name,
            "namespace": self.info.namespace,
            "resourceVersion": state.version,
        }
        if pause is not None and pause.paused:
            metadata["annotations"] = {
                PAUSED_KEY: "true",
                **({BY_KEY: pause.by} if pause.by else {}),
            }
        host = self.info.service
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": metadata,
            "spec": {
                "hosts": [host],
                "http": [
                    {
                        "route": [
                            {
                                "destination": {"host": host, "subset": BASELINE},
                                "weight": state.weights.stable,
                            },
                            {
                                "destination": {"host": host, "subset": CANARY},
                                "weight": state.weights.canary,
                            },
                        ]
                    }
                ],
            },
        }

    def _state(self, weights: Weights, version: int) -> RouteState:
        by = self.world.pause(self.rollout)
        pause = StoredPause(by is not None, by or "")
        return RouteState(weights, str(version), self.resource, pause=pause)

    def set_pause(
        self, paused: bool, by: str, expected: RouteState, *, dry_run: bool = False
    ) -> WriteResult:
        """Store the automation pause with the route, compare-and-set on the pause as read (the
        weights may have moved meanwhile)."""
        self._writable()
        was = expected.pause
        before = was.by if was is not None and was.paused else None
        ops = pause_ops(self.virtual_service(expected), paused, by if paused else "")
        patch = jsonpatch.dumps(ops) if ops else ""
        if dry_run:
            return WriteResult(None, patch)
        self.world.now()
        self.world.set_pause(self.rollout, by if paused else None, before)
        weights, version = self.world.route(self.rollout)
        return WriteResult(self._state(weights, version), patch)

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Write `target` if the route is still at `expected.version`, else raise ConflictError."""
        self._writable()
        try:
            target = Weights(int(target.stable), int(target.canary))
        except (TypeError, ValueError) as exc:
            raise SourceError(f"{self.resource}: refusing invalid weights: {exc}") from None
        ops = self.route.layout(self.virtual_service(expected)).build_ops(target)
        patch = jsonpatch.dumps(ops)
        if dry_run:
            return WriteResult(None, patch)
        try:
            expected_version = int(expected.version)
        except ValueError:
            raise ConflictError(
                f"{self.resource}: version '{expected.version}' is not this route's: re-read it"
            ) from None
        self.world.now()
        self.world.write_weights(self.rollout, target, expected_version)
        weights, version = self.world.route(self.rollout)
        return WriteResult(self._state(weights, version), patch)

    def watch(
        self,
        on_change: Callable[[RouteState], None],
        on_error: Callable[[MonotuiError], None] | None = None,
    ) -> Callable[[], None] | None:
        return None  # the observer notices outside writes at its next poll

    def _writable(self) -> None:
        if not self.can_write:
            raise ReadOnlyError(f"read-only: {self.resource} cannot be written, nothing was sent")


class SimMetrics:
    """Istio-style metrics of the simulated traffic, as the Prometheus source reads them: the
    increase of each version's requests, 5xx and duration buckets over a poll (exactly, from the
    world's counters), giving the bad requests and values of each of the rollout's metrics. The
    scenario may make polls gap (no values: the next poll's increase covers the gap) or time out."""

    name = "sim"

    def __init__(
        self,
        world: World,
        rollout: str,
        *,
        metrics: Sequence[Metric] = (ERROR_RATE, LATENCY),
        slow_ms: float | None = None,
        step_s: float = 1.0,
    ) -> None:
        self.world = world
        self.rollout = rollout
        self.metrics = tuple(metrics)
        self.step_s = step_s  # the poll interval: one poll's span when nothing was counted yet
        self.slow_ms = slow_ms
        self.queries_per_poll = 1 + len(self.metrics)

    def close(self) -> None:
        """Nothing to release."""

    def fetch(self, since: float | None) -> Sample:
        t = self.world.now()
        if self._fails("timeout", t):
            raise BackendUnavailableError(TIMEOUT_MESSAGE)
        if self._draw("gap", t) < self.world.scenario(self.rollout).metrics_gap_p:
            return Sample(t=t)
        start = since if since is not None and since < t else t - self.step_s
        return self._sample(start, t)

    def history(self, span_s: float, points: int) -> tuple[Sample, ...]:
        """Past samples tiling the last `span_s` seconds, oldest first, one step each."""
        t = self.world.now()
        if self._fails("history-timeout", t):
            raise BackendUnavailableError(TIMEOUT_MESSAGE)
        if points <= 0 or span_s <= 0:
            return ()
        step = max(span_s / points, self.step_s)
        n = int(span_s / step)
        gap_p = self.world.scenario(self.rollout).metrics_gap_p
        out = []
        for k in range(n - 1, -1, -1):
            at = t - k * step
            if self._draw("gap", at) < gap_p or self._draw("timeout", at) < self._timeout_p():
                out.append(Sample(t=at))
            else:
                out.append(self._sample(at - step, at))
        return tuple(s for s in out if s.t >= 0)

    def _sample(self, start: float, end: float) -> Sample:
        counted = self.world.counts(self.rollout, start, end)
        if counted is None:
            return Sample(t=end)
        bounds = ISTIO_BUCKETS_MS
        if self.slow_ms is None:  # the baseline's p99 bucket, as the Prometheus source derives it
            self.slow_ms = slow_threshold(bounds, counted[BASELINE].buckets)
        sides = []
        for version in (BASELINE, CANARY):
            c = counted[version]
            readings: list[float | Histogram | None] = [
                c.errors if m.reading == "count" else (bounds, c.buckets) for m in self.metrics
            ]
            sides.append(side_of(self.metrics, c.requests, readings, self.slow_ms))
        return Sample(t=end, span_s=end - start, baseline=sides[0], canary=sides[1])

    def _timeout_p(self) -> float:
        return self.world.scenario(self.rollout).metrics_timeout_p

    def _fails(self, what: str, t: float) -> bool:
        return (
            self.world.fault_active("metrics-timeout", self.rollout)
            or self._draw(what, t) < self._timeout_p()
        )

    def _draw(self, what: str, t: float) -> float:
        # Keyed by time, not by call count: how often the UI polls never changes the world.
        return random.Random(f"{self.world.seed}/{self.rollout}/{what}/{t:.3f}").random()


class SimFlags:
    """The simulated flags (flagd-like): compare-and-set toggles on the flag set's version."""

    kind = "sim"
    can_write = True

    def close(self) -> None:
        """Nothing to release."""

    def __init__(self, world: World, rollout: str) -> None:
        self.world = world
        self.rollout = rollout

    def read(self) -> FlagSet:
        self.world.now()
        specs, version = self.world.flags(self.rollout)
        return FlagSet(tuple(_flag(s) for s in specs), str(version))

    def toggle(self, key: str, expected: FlagSet, *, dry_run: bool = False) -> str:
        """Toggle `key` if the flag set is still at `expected.version`; returns the merge patch."""
        specs, _ = self.world.flags(self.rollout)
        spec = next((s for s in specs if s.key == key), None)
        if spec is None:
            raise NotFoundError(f"no flag '{key}' in the simulated flags of {self.rollout}")
        after = toggled(spec)
        change: dict[str, object] = (
            {"defaultVariant": after.default_variant}
            if after.default_variant != spec.default_variant
            else {"state": after.state}
        )
        patch = json.dumps({"flags": {key: change}})
        if dry_run:
            return patch
        try:
            expected_version = int(expected.version)
        except ValueError:
            raise ConflictError(
                f"flags version '{expected.version}' is not this source's"
            ) from None
        self.world.now()
        self.world.toggle_flag(self.rollout, key, expected_version)
        return patch


def _flag(spec: FlagSpec) -> Flag:
    after = toggled(spec)
    if is_boolean(spec) and spec.state == "ENABLED":
        toggle = f"{spec.default_variant} -> {after.default_variant}"
    else:
        toggle = f"{spec.state.lower()} -> {after.state.lower()}"
    return Flag(
        key=spec.key,
        state=spec.state,
        default_variant=spec.default_variant,
        value=flag_value(spec),
        variants=spec.variants,
        targeting=spec.targeting,
        toggle=toggle,
    )
