"""One rollout: its observer, actuator and automation side by side, as the scheduler, the CLI and
the autopilot drive it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from monotui.model import Action, ActionResult, Event, Phase, Snapshot, Verdict
from monotui.rollout.actuator import Actuator
from monotui.rollout.automation import Automation
from monotui.rollout.header_routes import HEADER_ROUTES
from monotui.rollout.observer import Observer
from monotui.rollout.reading import Reading, conclude_together, verdicts_together


class Rollout:
    """The three parts of one rollout. `cycle` observes and then lets the automation act;
    `apply` is a person's action; `snapshot` reads nothing."""

    def __init__(self, observer: Observer, actuator: Actuator, automation: Automation) -> None:
        self.observer = observer
        self.actuator = actuator
        self.automation = automation
        self.config = observer.config
        self._header_tried = False  # added once per run: a removal made elsewhere is respected
        self._header_added = False  # by this process: removed when it quits
        self._header_deferred: str | None = None  # why they were left to another (told once)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def read_only(self) -> bool:
        return self.actuator.read_only

    def start(self, *, history: bool = True) -> Snapshot:
        """The first observation (charts filled from history, the route followed), then the
        automation's first look."""
        return self.steer(self.observer.start(history=history))

    def preview(self) -> Snapshot:
        """A first look before `start` (Observer.preview): no history, no judgement, no
        automation; `start` must follow."""
        return self.automation.annotate(self.observer.preview())

    def cycle(self) -> Snapshot:
        """Observe every source, then let the automation act on the verdict."""
        return self.steer(self.observer.observe())

    def apply(self, action: Action) -> ActionResult:
        """Apply a person's (or the CLI's) action."""
        return self.actuator.apply(action)

    def snapshot(self) -> Snapshot:
        """The rollout now, from what is known (no I/O)."""
        return self.automation.annotate(self.observer.snapshot())

    def events(self) -> tuple[Event, ...]:
        return self.observer.told.recent()

    def close(self) -> None:
        """Remove the probes' header routes this process added (unless another process steers
        the rollout now), stop following the route and release the sources' connections."""
        route = self.actuator.state.route
        added = self._header_added and route is not None and bool(route.track_routes)
        # Not while another process steers the rollout (an autopilot shutting down has handed
        # its Lease over): the rollout goes on, and its probes need the routes.
        if added and self._steered_elsewhere() is None:
            self.actuator.set_track_routes(False, origin="quit", reason="monotui quits")
        self.observer.close()
        self.actuator.router.close()
        if self.observer.metrics is not None:
            self.observer.metrics.close()
        if self.actuator.flags is not None:
            self.actuator.flags.close()

    def steer(self, observed: Snapshot) -> Snapshot:
        """Let the automation decide on what was just observed (no second look at the
        sources), then the rollout as it is after that: the same picture when nothing was
        done or told since (a fleet makes hundreds of snapshots a poll)."""
        acted = self.automation.step(observed)
        wrote = self._keep_header_routes()
        if acted is None and not wrote and self.observer.told.recent() is observed.events:
            return self.automation.annotate(observed)
        return self.snapshot()

    def _steered_elsewhere(self) -> str | None:
        """Why another process steers this rollout now, or None when this one may: the probes'
        header routes are a write like the automation's, behind the same gate (an autopilot's
        standby, or a holder past its renew deadline or shutting down, writes none; a cockpit
        leaves them to a live autopilot)."""
        gate = self.automation.gate
        return gate() if gate is not None else None

    def _keep_header_routes(self) -> bool:
        """While the rollout runs, the probes that reach a version by header have their route:
        added once per run (a rollback or promote removes it, a new run adds it again).
        Returns whether it tried to write."""
        reader = self.observer.synthetics
        route = self.actuator.state.route
        if reader is None or self.read_only or route is None or not reader.needs_header_route():
            return False
        running = self.actuator.state.plan.phase in (Phase.PROGRESSING, Phase.PAUSED)
        if not running:
            self._header_tried = False
            return False
        if self._header_tried:
            return False
        if route.track_routes >= {"canary", "baseline"}:
            self._header_tried = True
            return False
        why_not = self._steered_elsewhere()
        if why_not is not None:  # asked again next cycle: it may be ours by then
            if why_not != self._header_deferred:
                self._header_deferred = why_not
                text = f"the probes' {HEADER_ROUTES} are not added here: {why_not}"
                self.observer.told.tell(Event, text)
            return False
        self._header_tried = True
        probes = ", ".join(s.name for s in reader.sources if s.header_tracks())
        written = self.actuator.set_track_routes(
            True, origin="synthetics", reason=f"so probes reach one version: {probes}"
        )
        self._header_added = self._header_added or written.changed
        return True


def start_together(rollouts: Sequence[Rollout]) -> list[Snapshot]:
    """`Rollout.start` for several rollouts, their histories judged in one round (each verdict
    the same as started alone, for about half the judge's work): a fleet's starts."""
    readings = [(r.observer, r.observer.read_start()) for r in rollouts]
    return [r.steer(s) for r, s in zip(rollouts, conclude_together(readings), strict=True)]


Failed = Callable[[str, BaseException], None]


def cycle_together(
    rollouts: Sequence[Rollout], failed: Failed, read: Callable[[Rollout], Reading] | None = None
) -> list[tuple[Rollout, Snapshot]]:
    """`Rollout.cycle` for several rollouts, their judgements advanced in one round (each
    verdict the same as cycled alone): a fleet's polls. Returns the cycled rollouts with their
    snapshots; one whose reading, judgement or steering raises goes to `failed` and is left
    out (a round whose arithmetic raises is judged one rollout at a time: a bug in one fails it
    alone). `read`: how each one is read (default `rollout.observer.read()`)."""
    readings: list[tuple[Rollout, Reading]] = []
    for rollout in rollouts:
        try:
            reading = read(rollout) if read is not None else rollout.observer.read()
        except Exception as exc:  # a bug in one rollout must not stop the others
            failed(rollout.name, exc)
        else:
            readings.append((rollout, reading))
    verdicts: Sequence[Verdict | None]
    try:
        verdicts = verdicts_together([reading for _, reading in readings])
    except Exception:  # each is judged alone below: a bug in one fails it alone
        verdicts = [None] * len(readings)
    out: list[tuple[Rollout, Snapshot]] = []
    for (rollout, reading), verdict in zip(readings, verdicts, strict=True):
        try:
            out.append((rollout, rollout.steer(rollout.observer.conclude(reading, verdict))))
        except Exception as exc:
            failed(rollout.name, exc)
    return out
