"""One rollout: its observer, actuator and automation side by side, as the scheduler, the CLI and
the autopilot drive it."""

from __future__ import annotations

from monotui.model import Action, ActionResult, Event, Snapshot
from monotui.rollout.actuator import Actuator
from monotui.rollout.automation import Automation
from monotui.rollout.observer import Observer


class Rollout:
    """The three parts of one rollout. `cycle` observes and then lets the automation act;
    `apply` is a person's action; `snapshot` reads nothing."""

    def __init__(self, observer: Observer, actuator: Actuator, automation: Automation) -> None:
        self.observer = observer
        self.actuator = actuator
        self.automation = automation
        self.config = observer.config

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def read_only(self) -> bool:
        return self.actuator.read_only

    def start(self, *, history: bool = True) -> Snapshot:
        """The first observation (charts filled from history, the route followed), then the
        automation's first look."""
        self.observer.start(history=history)
        return self._steer()

    def cycle(self) -> Snapshot:
        """Observe every source, then let the automation act on the verdict."""
        self.observer.observe()
        return self._steer()

    def apply(self, action: Action) -> ActionResult:
        """Apply a person's (or the CLI's) action."""
        return self.actuator.apply(action)

    def snapshot(self) -> Snapshot:
        """The rollout now, from what is known (no I/O)."""
        return self.automation.annotate(self.observer.snapshot())

    def events(self) -> tuple[Event, ...]:
        return self.observer.told.recent()

    def close(self) -> None:
        """Stop following the route and release the sources' connections."""
        self.observer.close()
        self.actuator.router.close()
        if self.observer.metrics is not None:
            self.observer.metrics.close()
        if self.actuator.flags is not None:
            self.actuator.flags.close()

    def _steer(self) -> Snapshot:
        self.automation.step(self.snapshot())
        return self.snapshot()
