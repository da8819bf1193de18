"""The small Protocols every source implements, and the values they hand back.

Sources are synchronous and may block (HTTP, the Kubernetes API): the controller calls them from a
worker thread, never from the event loop. They raise `monotui.errors.MonotuiError` subclasses with a
message a user can act on; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from monotui.errors import MonotuiError
from monotui.model import ActionKind, Flag, Phase, Sample, Weights


@dataclass(frozen=True, slots=True)
class StepStatus:
    """Where a router that owns its steps (Argo Rollouts) stands on them, as it says."""

    steps: tuple[int, ...]  # canary percentages, strictly increasing, ending at 100
    phase: Phase
    paused: bool  # paused in the cluster (Argo: spec.paused), not only monotui's automation
    message: str  # one line a human reads: the step and the owner's own status message
    step_index: int | None = None  # the owner's step index (Argo: status.currentStepIndex)
    step_count: int = 0
    next_action: str = ""  # what comes next when the owner steps by itself (Flagger); "": the plan


@dataclass(frozen=True, slots=True)
class StoredPause:
    """The automation pause as the routed resource stores it, shared by every monotui instance.

    Istio/Gateway API: the `monotui.dev/automation-paused` annotation (and `monotui.dev/paused-by`,
    outside text: who paused and why); Argo Rollouts: spec.paused; the simulated world: its route.
    """

    paused: bool
    by: str = ""  # "alice: <reason>" as stored, shown literally; "" when nobody said


@dataclass(frozen=True, slots=True)
class RouteState:
    """The weights as read, with what a compare-and-set write must find unchanged."""

    weights: Weights
    version: str  # resourceVersion (or the simulated router's generation)
    resource: str  # what a human calls it: "virtualservice bookinfo/reviews"
    progress: StepStatus | None = None  # set by a StepRouter: its steps, phase and pause
    pause: StoredPause | None = None  # None: this router cannot store the automation pause
    track_routes: frozenset[str] = frozenset()
    """The values of `x-monotui-track` the route now sends to one version ("canary",
    "baseline"): the header routes monotui adds ahead of the weighted one for its probes."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of a write: the state read back (None in dry-run) and the exact patch."""

    state: RouteState | None
    patch: str
    note: str = ""  # what a StepRouter did, in words ("skipped the pause at step 2/8")


@dataclass(frozen=True, slots=True)
class FlagSet:
    """All flags of a source as read, with a version for compare-and-set and per-flag problems."""

    flags: tuple[Flag, ...]
    version: str
    errors: tuple[str, ...] = ()


class NothingNewYet(Exception):  # noqa: N818 (not an error: a reading that has not changed)
    """`MetricsSource.fetch` came too soon to count anything new: fewer than two of Prometheus's
    scrapes since the last counted poll, where increase() finds no series. The source answered
    (it proved it), so this is neither NO DATA nor a failure: the previous reading stands and
    the next poll's span grows until it holds two scrapes."""

    def __init__(self, ready_at: float) -> None:
        super().__init__(f"nothing new to count before {ready_at:.3f}")
        self.ready_at = ready_at


@runtime_checkable
class MetricsSource(Protocol):
    """Error rate, p99 latency and request rate per version."""

    name: str

    def fetch(self, since: float | None) -> Sample:
        """The counts of both versions over (since, now] (since None: over one poll interval)
        and the metrics' values over it; a version without series is None (NO DATA), never 0.
        The sample's `t` is now and its `span_s` what it covers. Raises NothingNewYet when
        `since` is too recent for the counters to have moved (and the source answers)."""
        ...

    def history(self, span_s: float, points: int) -> tuple[Sample, ...]:
        """Up to `points` samples tiling the last `span_s` seconds, oldest first (may be empty),
        each counting its own step."""
        ...

    def close(self) -> None:
        """Release what the source holds (connections, threads); called once, at the end."""
        ...


@runtime_checkable
class HistoryAhead(Protocol):
    """A metrics source that can have its history read before it is asked for it."""

    def prefetch_history(self, span_s: float, points: int) -> None:
        """Start reading what `history(span_s, points)` will return (blocking the caller's
        thread until it is read); `history` then takes it instead of asking again."""
        ...


@runtime_checkable
class Router(Protocol):
    """Where the weights live: reads them and writes them compare-and-set."""

    kind: str
    can_write: bool

    def read(self) -> RouteState: ...

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Write `target` only if the route still matches `expected`, else raise ConflictError."""
        ...

    def watch(
        self,
        on_change: Callable[[RouteState], None],
        on_error: Callable[[MonotuiError], None] | None = None,
    ) -> Callable[[], None] | None:
        """Call `on_change` when the route changes elsewhere and `on_error` when following it
        fails (it is retried); returns a stop function, or None when the router cannot watch
        (the observer then notices changes at the next poll)."""
        ...

    def close(self) -> None:
        """Release what the source holds (connections, threads); called once, at the end."""
        ...


@runtime_checkable
class PauseStore(Protocol):
    """A router that stores the automation pause with the route (`RouteState.pause` not None), so
    a pause made by one monotui (a key, the CLI, its automation) stops every other one."""

    def set_pause(
        self, paused: bool, by: str, expected: RouteState, *, dry_run: bool = False
    ) -> WriteResult:
        """Store `paused` (with `by`: who and why) if the stored pause is still as in `expected`,
        else raise ConflictError; the weights and the rest of the object do not matter."""
        ...


@runtime_checkable
class TrackRouter(Protocol):
    """A router that can add header routes ahead of its weighted one (Istio, Gateway API), as
    Argo Rollouts' setHeaderRoute does: `x-monotui-track: canary` reaches the canary,
    `x-monotui-track: baseline` the baseline, whatever the weights, so a probe tests one version
    on purpose."""

    def set_track_routes(
        self, on: bool, expected: RouteState, *, dry_run: bool = False
    ) -> WriteResult:
        """Add (`on`) or remove monotui's header routes if the route is still as in `expected`
        (compare-and-set: JSON patch `test` ops), else raise ConflictError. A WriteResult with
        an empty patch when there is nothing to change."""
        ...


@runtime_checkable
class StepRouter(Router, Protocol):
    """A router that owns its steps (Argo Rollouts): it takes verbs, not arbitrary weights.

    The controller hands it advance/promote/rollback/pause/resume instead of target weights, and
    builds the plan from `RouteState.progress`. Each act is compare-and-set like `write`.
    """

    def act(self, kind: ActionKind, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Do `kind` only if the object still matches `expected`, else raise ConflictError."""
        ...


@runtime_checkable
class FlagSource(Protocol):
    """Feature flags: read them all; toggle one compare-and-set where the source allows it."""

    kind: str
    can_write: bool

    def read(self) -> FlagSet: ...

    def toggle(self, key: str, expected: FlagSet, *, dry_run: bool = False) -> str:
        """Toggle flag `key` if the source still matches `expected`; returns the patch/diff text."""
        ...

    def close(self) -> None:
        """Release what the source holds (connections, threads); called once, at the end."""
        ...
