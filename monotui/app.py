"""The Textual app: a thin shell that polls the controllers in workers and hands snapshots to screens.

The app may start before its controllers exist: given a `boot` callable, it shows its first frame
(the fleet, "starting…") at once and builds the controllers in a thread worker after that frame, so
slow imports and set-up (pydantic models, the simulated world, a cluster client) never delay it.
One thread worker per rollout polls; only one poll is in flight per rollout and the next is
scheduled after the last finished (so a slow source never piles up polls). Workers never touch
widgets: they post messages. A key becomes an Action, applied in a thread worker; its result comes
back as a message, is notified, and triggers an immediate poll. No worker error can end the app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from monotui.model import Action, ActionResult, EventLevel, Snapshot
from monotui.screens.cockpit import CockpitScreen
from monotui.screens.commands import APP_COMMANDS, RolloutCommands, bindings
from monotui.screens.fleet import FleetScreen
from monotui.screens.help import HelpScreen
from monotui.screens.steering import Steering
from widgets import EventLog
from widgets.text import clean

if TYPE_CHECKING:
    # Only for types: importing it pulls in pydantic's config models (~100 ms before the first frame).
    from monotui.controller import Controller

Boot = Callable[[], "tuple[Sequence[Controller], Any]"]
"""Builds the controllers (and the demo world, or None) after the first frame; runs in a thread."""


class SnapshotReady(Message):
    """A poll of `rollout` finished."""

    def __init__(self, rollout: str, snapshot: Snapshot) -> None:
        super().__init__()
        self.rollout = rollout
        self.snapshot = snapshot


class ActionApplied(Message):
    """The controller applied (or refused) an action."""

    def __init__(self, result: ActionResult) -> None:
        super().__init__()
        self.result = result


class Booted(Message):
    """`boot` returned: the controllers exist and each was polled once."""

    def __init__(
        self, controllers: Sequence[Controller], demo: Any, snapshots: Sequence[Snapshot]
    ) -> None:
        super().__init__()
        self.controllers = controllers
        self.demo = demo
        self.snapshots = snapshots


class MonotuiApp(App[None]):
    """The cockpit over a list of controllers (the demo's or the configured ones)."""

    COMMANDS = App.COMMANDS | {RolloutCommands}
    BINDINGS = bindings(APP_COMMANDS)

    def __init__(
        self,
        controllers: Sequence[Controller] = (),
        *,
        title: str = "monotui",
        poll_interval_s: float | None = 1.0,
        demo: Any = None,
        boot: Boot | None = None,
    ) -> None:
        super().__init__()
        self.controllers = list(controllers)
        self.boot = boot
        self.booted = threading.Event()
        """Set once the controllers exist (at once without `boot`), even if the app quit first."""
        if boot is None:
            self.booted.set()
        self.title = title
        self.poll_interval_s = poll_interval_s  # None: poll only at start and after actions (tests)
        self.demo = demo
        self.snapshots: dict[str, Snapshot] = {}
        self.steering = Steering(self)
        self._started: set[str] = set(
            c.name for c in self.controllers if demo is not None and getattr(demo, "started", False)
        )
        self._in_flight: set[str] = set()
        self._again: set[str] = set()

    @property
    def starting(self) -> bool:
        """True until `boot` has built the controllers: screens say "starting…", never zeros."""
        return not self.booted.is_set()

    def on_mount(self) -> None:
        if self.boot is not None:
            # The fleet is the "starting…" screen; it becomes a cockpit if only one rollout comes.
            self.push_screen(FleetScreen())
            self.call_after_refresh(self._start_boot)
            return
        for controller in self.controllers:
            self.snapshots[controller.name] = (
                controller.snapshot()
            )  # no I/O: the first frame is fast
        self._open_first_screen()
        for controller in self.controllers:
            self.poll(controller.name)

    def _open_first_screen(self) -> None:
        if len(self.controllers) > 1:
            if not isinstance(self.screen, FleetScreen):
                self.push_screen(FleetScreen())
        elif self.controllers:
            cockpit = CockpitScreen(self.controllers[0].name)
            if isinstance(self.screen, FleetScreen):
                self.switch_screen(cockpit)
            else:
                self.push_screen(cockpit)

    # --- booting --------------------------------------------------------------------------------

    def _start_boot(self) -> None:
        # After the first frame was composed; the thread then takes the GIL only in slices.
        self.run_worker(
            self._boot_in_thread, name="start", group="boot", thread=True, exit_on_error=False
        )

    def _boot_in_thread(self) -> None:
        assert self.boot is not None
        try:
            controllers, demo = self.boot()
            self.controllers = list(controllers)  # run_app closes them even if we quit first
        finally:
            self.booted.set()
        started = demo is not None and getattr(demo, "started", False)
        snapshots = [c.snapshot() if started else c.start() for c in controllers]
        self.post_message(Booted(controllers, demo, snapshots))

    def on_booted(self, message: Booted) -> None:
        self.demo = message.demo
        self._started.update(c.name for c in message.controllers)
        for snapshot in message.snapshots:
            self.snapshots[snapshot.rollout] = snapshot
        self._open_first_screen()
        show = getattr(self.screen, "booted", None)
        if show is not None:
            show()
        for snapshot in message.snapshots:
            self._poll_done(snapshot.rollout)

    # --- polling --------------------------------------------------------------------------------

    def poll(self, rollout: str) -> None:
        """Start a poll of `rollout` unless one is in flight (then poll again right after it)."""
        if rollout in self._in_flight:
            self._again.add(rollout)
            return
        self._in_flight.add(rollout)
        self.run_worker(
            partial(self._poll_in_thread, rollout),
            name=f"poll {rollout}",
            group=f"poll:{rollout}",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _poll_in_thread(self, rollout: str) -> None:
        controller = self._controller(rollout)
        first = rollout not in self._started
        self._started.add(rollout)
        snapshot = controller.start() if first else controller.poll()
        self.post_message(SnapshotReady(rollout, snapshot))

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self.snapshots[message.rollout] = message.snapshot
        # Only what is visible: the top screen, and the one under a modal. Hidden screens catch up
        # from `snapshots` when they are shown again.
        visible = self.screen_stack[-2:] if isinstance(self.screen, ModalScreen) else [self.screen]
        for screen in visible:
            show = getattr(screen, "show", None)
            if show is not None:
                show(message.snapshot)
        self._poll_done(message.rollout)

    def _poll_done(self, rollout: str) -> None:
        self._in_flight.discard(rollout)
        if rollout in self._again:
            self._again.discard(rollout)
            self.poll(rollout)
        elif self.poll_interval_s is not None:
            self.set_timer(
                self.poll_interval_s, partial(self.poll, rollout), name=f"next poll {rollout}"
            )

    # --- actions --------------------------------------------------------------------------------

    def apply(self, action: Action) -> None:
        """Apply `action` in a thread worker; the result arrives as ActionApplied."""
        controller = self._controller(action.rollout)
        self.run_worker(
            partial(lambda: self.post_message(ActionApplied(controller.apply(action)))),
            name=f"apply {action.kind.value} {action.rollout}",
            group=f"apply:{action.rollout}",
            thread=True,
            exit_on_error=False,
        )

    def on_action_applied(self, message: ActionApplied) -> None:
        result = message.result
        self.notify(
            f"{result.action.rollout}: {result.message}",
            severity="information" if result.ok else "error",
            markup=False,
        )
        self.poll(result.action.rollout)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors surface: an event line and a notification, never a crash."""
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        text = f"{worker.name} failed: {clean(worker.error)}"
        self.notify(text, severity="error", markup=False)
        for log in self.query(EventLog):
            log.note(text, EventLevel.ERROR)
        if worker.group.startswith("poll:"):
            self._poll_done(worker.group.removeprefix("poll:"))
        if worker.group == "boot":
            show = getattr(self.screen, "boot_failed", None)
            if show is not None:
                show(text)

    # --- navigation -----------------------------------------------------------------------------

    def open_cockpit(self, rollout: str) -> None:
        """Show the cockpit of `rollout` (over the fleet when there is one)."""
        if isinstance(self.screen, CockpitScreen) and self.screen.rollout == rollout:
            return
        while isinstance(self.screen, CockpitScreen) and len(self.screen_stack) > 2:
            self.pop_screen()
        self.push_screen(CockpitScreen(rollout, has_fleet=len(self.controllers) > 1))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_palette(self) -> None:
        self.action_command_palette()

    def _controller(self, rollout: str) -> Controller:
        return next(c for c in self.controllers if c.name == rollout)


def run_app(
    controllers: Sequence[Controller] = (),
    *,
    title: str = "monotui",
    poll_interval_s: float = 1.0,
    demo: Any = None,
    boot: Boot | None = None,
) -> None:
    """Run the cockpit until the user quits; closes the controllers (weights stay as they are).

    With `boot`, the controllers are built after the first frame (see the module's docstring).
    """
    app = MonotuiApp(
        controllers, title=title, poll_interval_s=poll_interval_s, demo=demo, boot=boot
    )
    try:
        app.run()
    finally:
        # A quit during the start: the boot thread still finishes (Textual's run joins its
        # threads), and what it built is closed here like the rest.
        app.booted.wait(timeout=30)
        for controller in app.controllers:
            controller.close()
