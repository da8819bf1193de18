"""The Textual app: a thin shell over the rollouts, the poll scheduler and the screens.

The app may start before its rollouts exist: given a `boot` callable, it shows its first frame
(the fleet, "starting…") at once and builds the rollouts in a thread worker after that frame, so
slow imports and set-up (pydantic models, the simulated world, a cluster client) never delay it.
The scheduler (monotui.scheduler) cycles each rollout at its own interval in its own threads and
hands every snapshot back as a `SnapshotReady` message; screens are handed snapshots through
`RolloutScreen.show` only. A key becomes an Action, applied in a thread worker; its result is
notified and the screen is updated from what the actuator now knows (no re-poll of the sources).
No worker error can end the app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.filter import LineFilter
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from monotui import collector
from monotui.model import Action, ActionResult, EventLevel, Snapshot
from monotui.rollout import Rollout
from monotui.scheduler import DEFAULT_CONCURRENCY, PollScheduler
from monotui.screens.base import CockpitWanted, RolloutScreen
from monotui.screens.cockpit import CockpitScreen
from monotui.screens.commands import APP_COMMANDS, bindings
from monotui.screens.diff_driver import diffing, forget_screens
from monotui.screens.fleet import FleetScreen, FleetShown
from monotui.screens.hangup import leave_on_hangup
from monotui.screens.help import HelpScreen
from monotui.screens.palette import FleetCommands, RolloutCommands
from monotui.screens.steering import Steering
from monotui.screens.store import SnapshotStore
from monotui.terminal import Terminal
from widgets import EventLog, look
from widgets.text import clean

TOAST_CHARS = 72
"""An action's toast at most: two lines of a toast at 80 columns (half the width)."""


@dataclass
class Fleet:
    """The rollouts a session steers, and how to release what was built for them."""

    rollouts: list[Rollout]
    started: bool = False
    """The rollouts were started already (the demo fills its world before the app)."""
    close: Callable[[], None] = field(default=lambda: None)
    """Releases what the rollouts share (the Kubernetes connection); called after they close."""
    badges: dict[str, str] = field(default_factory=dict)
    """Each cluster's badge colour (monotui.clusters.badges)."""
    notes: Sequence[str] = ()
    """Lines to show once the rollouts are shown (kinds discovery could not list, the Prometheus
    it found or not)."""
    inferred: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per rollout, how discovery inferred its settings (key -> how): shown on the help screen."""
    pace: float = 1.0
    """The rollouts' seconds per real second: the demo's world runs `--speed` times faster, so
    its intervals (in simulated seconds) are polled that much sooner."""


Boot = Callable[[], Fleet]
"""Builds the rollouts after the first frame; runs in a thread."""


class SnapshotReady(Message):
    """A cycle of `snapshot.rollout` finished (or its state changed after an action)."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class SnapshotsArrived(Message):
    """Polls delivered snapshots (kept by the app, newest per rollout, until shown)."""


SHOW_BUDGET_S = 0.008
"""How long one turn of the event loop shows arrived snapshots before it lets keys through."""


class ActionApplied(Message):
    """The actuator applied (or refused) an action."""

    def __init__(self, result: ActionResult, snapshot: Snapshot) -> None:
        super().__init__()
        self.result = result
        self.snapshot = snapshot


class Booted(Message):
    """`boot` returned: the rollouts exist."""

    def __init__(self, fleet: Fleet) -> None:
        super().__init__()
        self.fleet = fleet


class MonotuiApp(App[None]):
    """The cockpit over a fleet of rollouts (the demo's or the configured ones)."""

    COMMANDS = App.COMMANDS | {RolloutCommands, FleetCommands}
    BINDINGS = bindings(APP_COMMANDS)

    def __init__(
        self,
        rollouts: Sequence[Rollout] = (),
        *,
        title: str = "monotui",
        poll: bool = True,
        started: bool = False,
        boot: Boot | None = None,
        concurrency: int | None = None,
        ascii: bool = False,
        colors16: bool | None = False,
    ) -> None:
        """`poll` False: each rollout is cycled once at start and never again (tests). `ascii`:
        draw with ASCII only; `colors16`: the 16-colour palette (None: when the terminal has
        only 16 colours, as Rich reads it from TERM and COLORTERM; run_app asks for that)."""
        super().__init__()
        if colors16 is None:
            colors16 = self.console.color_system in ("standard", "windows")
        self.look = look.look_for(ascii=ascii, colors16=colors16)
        look.use(self.look)  # once, before any widget draws
        self._ascii_filters: list[LineFilter] = [look.AsciiFilter()] if ascii else []
        if colors16 and not self.no_color:
            self.register_theme(look.theme16())
            self.theme = "monotui-16"
        self.fleet = Fleet(list(rollouts), started=started)
        self.boot = boot
        self.booted = threading.Event()
        """Set once the rollouts exist (at once without `boot`), even if the app quit first."""
        self.boot_started = False
        """Whether the boot thread was started (a quit in the very first frame may come first)."""
        if boot is None:
            self.booted.set()
        self.title = title
        self.poll = poll
        self.concurrency = concurrency
        self.keep_heap = False
        """Freeze what lives once the rollouts are built and started (monotui.collector): the
        process is the cockpit's (run_app), not a test's that runs many apps."""
        self.store = SnapshotStore()
        self.store.starting = boot is not None
        self.steering = Steering(self, self.store, self.apply)
        self.scheduler: PollScheduler | None = None
        self._arrived: dict[str, Snapshot] = {}
        self._arrived_lock = threading.Lock()
        self._arrival_posted = False

    @property
    def rollouts(self) -> list[Rollout]:
        return self.fleet.rollouts

    def on_mount(self) -> None:
        leave_on_hangup(self)
        if self.boot is not None:
            # The fleet is the "starting…" screen; it becomes a cockpit if only one rollout comes.
            self.push_screen(FleetScreen(self.store, self.steering, title=str(self.title)))
            self.call_after_refresh(self._start_boot)
            return
        self._begin()

    # --- booting --------------------------------------------------------------------------------

    def _start_boot(self) -> None:
        # After the first frame was composed; the thread then takes the GIL only in slices.
        self.boot_started = True
        self.run_worker(
            self._boot_in_thread, name="start", group="boot", thread=True, exit_on_error=False
        )

    def _boot_in_thread(self) -> None:
        assert self.boot is not None
        try:
            fleet = self.boot()
            self.fleet = fleet  # run_app closes it even if we quit first
        finally:
            self.booted.set()
        self.post_message(Booted(fleet))

    def on_booted(self, message: Booted) -> None:
        self.fleet = message.fleet
        self._begin()

    def _begin(self) -> None:
        """The rollouts exist: show them, and start cycling them."""
        self.store.names = tuple(r.name for r in self.rollouts)
        self.store.badges = dict(self.fleet.badges)
        self.store.starting = False
        for note in self.fleet.notes:
            self.notify(note, severity="warning", markup=False, timeout=15)
        for rollout in self.rollouts:
            self.store.put(rollout.snapshot())  # no I/O: the first frame is fast
        if self.keep_heap:
            collector.keep_what_lives()  # the sources, their clients and connections
        starting = self.screen if isinstance(self.screen, FleetScreen) else None
        self._open_first_screen()
        if starting is not None and self.screen is starting:
            starting.booted()  # the "starting…" fleet stays: it shows the rollouts now
        if self.poll:
            self.scheduler = PollScheduler(
                self.rollouts,
                deliver=self._delivered,
                failed=self._cycle_failed,
                started=self.fleet.started,
                concurrency=self.concurrency or DEFAULT_CONCURRENCY,
                pace=self.fleet.pace,
                # A fleet's rows show their routes and counts before the histories are read.
                preview=len(self.rollouts) > 1,
                started_round=collector.keep_what_lives if self.keep_heap else None,
            )
            self.scheduler.start()
        elif not self.fleet.started:
            for rollout in self.rollouts:
                self.run_worker(
                    partial(self._start_once, rollout),
                    name=f"start {rollout.name}",
                    group=f"start:{rollout.name}",
                    thread=True,
                    exit_on_error=False,
                )

    def _start_once(self, rollout: Rollout) -> None:
        self.post_message(SnapshotReady(rollout.start()))

    def _open_first_screen(self) -> None:
        if len(self.rollouts) > 1:
            if not isinstance(self.screen, FleetScreen):
                self.push_screen(FleetScreen(self.store, self.steering, title=str(self.title)))
        elif self.rollouts:
            cockpit = CockpitScreen(self.rollouts[0].name, self.store, self.steering)
            if isinstance(self.screen, FleetScreen):
                self.switch_screen(cockpit)
            else:
                self.push_screen(cockpit)

    def _delivered(self, rollout: str, snapshot: Snapshot) -> None:
        """From a scheduler thread: keep the newest snapshot of `rollout`, and post one message
        for all that arrived since the last was handled. A burst of hundreds of polls is then
        one message, not hundreds queued in front of the next key press."""
        with self._arrived_lock:
            self._arrived[rollout] = snapshot
            if self._arrival_posted:
                return
            self._arrival_posted = True
        self.post_message(SnapshotsArrived())

    def on_snapshots_arrived(self, message: SnapshotsArrived) -> None:
        """Show what arrived, for at most SHOW_BUDGET_S; the rest after the queued keys."""
        deadline = time.monotonic() + SHOW_BUDGET_S
        while time.monotonic() < deadline:
            with self._arrived_lock:
                if not self._arrived:
                    self._arrival_posted = False
                    return
                rollout = next(iter(self._arrived))
                snapshot = self._arrived.pop(rollout)
            self._show(snapshot)
        self.post_message(SnapshotsArrived())  # behind whatever the user typed meanwhile

    def on_fleet_shown(self, message: FleetShown) -> None:
        """Every row is on screen: the starts (histories, judging) may take the CPU now."""
        scheduler = self.scheduler
        if scheduler is not None:
            self.call_after_refresh(scheduler.release_starts)

    def _cycle_failed(self, rollout: str, exc: BaseException) -> None:
        self.call_from_thread(self._note_error, f"poll {rollout} failed: {clean(exc)}")

    # --- snapshots and actions ------------------------------------------------------------------

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self._show(message.snapshot)

    def _show(self, snapshot: Snapshot) -> None:
        self.store.put(snapshot)
        stack = self.screen_stack
        if not stack:
            return  # the app is closing while polls still deliver (a fleet's starts go on)
        # Only what is visible: the top screen, and the one under a modal. Hidden screens catch up
        # from the store when they are shown again.
        visible = stack[-2:] if isinstance(stack[-1], ModalScreen) else stack[-1:]
        for screen in visible:
            if isinstance(screen, RolloutScreen):
                screen.show(snapshot)

    def show_latest(self, rollout: str) -> None:
        """Show what `rollout` knows now (no I/O): after the demo's world was moved by hand."""
        self._show(self._rollout(rollout).snapshot())

    def apply(self, action: Action) -> None:
        """Apply `action` in a thread worker; the result arrives as ActionApplied."""
        rollout = self._rollout(action.rollout)

        def run() -> None:
            result = rollout.apply(action)
            self.post_message(ActionApplied(result, rollout.snapshot()))

        self.run_worker(
            run,
            name=f"apply {action.kind.value} {action.rollout}",
            group=f"apply:{action.rollout}",
            thread=True,
            exit_on_error=False,
        )

    def on_action_applied(self, message: ActionApplied) -> None:
        result = message.result
        # A write whose answer was lost may have happened: a warning that says so, never "error"
        # (the actuator has read the route again; the snapshot below shows what it says now).
        severity: SeverityLevel = (
            "information" if result.ok else "warning" if result.uncertain else "error"
        )
        # A toast covers the plan's "next" line and the verdict at 80x24: two short lines that go
        # after 3 s when it went well; the event log keeps the whole message (a dry run's patch).
        text = f"{clean(result.action.rollout)}: {clean(result.message)}"
        if len(text) > TOAST_CHARS:
            text = text[: TOAST_CHARS - 20].rstrip() + "… (all in the events)"
        self.notify(text, severity=severity, markup=False, timeout=3 if result.ok else 8)
        self._show(message.snapshot)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors surface: an event line and a notification, never a crash."""
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        text = f"{worker.name} failed: {clean(worker.error)}"
        self._note_error(text)
        if worker.group == "boot" and isinstance(self.screen, FleetScreen):
            self.screen.boot_failed(text)

    def _note_error(self, text: str) -> None:
        self.notify(text, severity="error", markup=False)
        for log in self.query(EventLog):
            log.note(text, EventLevel.ERROR)

    # --- navigation -----------------------------------------------------------------------------

    def on_cockpit_wanted(self, message: CockpitWanted) -> None:
        """Show the cockpit of a rollout (over the fleet when there is one)."""
        top = self.screen
        if isinstance(top, CockpitScreen) and top.rollout == message.rollout:
            return
        while isinstance(self.screen, CockpitScreen) and len(self.screen_stack) > 2:
            self.pop_screen()
        has_fleet = len(self.rollouts) > 1
        self.push_screen(
            CockpitScreen(message.rollout, self.store, self.steering, has_fleet=has_fleet)
        )

    def action_help(self) -> None:
        inferred = self.fleet.inferred
        if isinstance(self.screen, CockpitScreen):  # the rollout in view; the fleet: them all
            inferred = {k: v for k, v in inferred.items() if k == self.screen.rollout}
        self.push_screen(HelpScreen(inferred))

    def action_palette(self) -> None:
        self.action_command_palette()

    def action_redraw(self) -> None:
        """Send the whole screen again (something else drew on the terminal)."""
        forget_screens()
        self.screen.refresh(layout=True)

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, sending only the cells that changed."""
        return diffing(super().get_driver_class())

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the ASCII net when the look is ASCII."""
        return [*super().get_line_filters(), *self._ascii_filters]

    def get_key_display(self, binding: Binding) -> str:
        """Keys as Textual shows them; in ASCII, their names (enter, not ⏎)."""
        shown = super().get_key_display(binding)
        if self.look.ascii and not shown.isascii():
            return binding.key
        return shown

    def _rollout(self, name: str) -> Rollout:
        return next(r for r in self.rollouts if r.name == name)

    def shutdown(self) -> None:
        """Stop cycling; then close every rollout and what they share (weights stay as they
        are). Safe to call twice."""
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        for rollout in self.rollouts:
            rollout.close()
        self.fleet.close()
        self.fleet = Fleet([], started=True)


def run_app(
    rollouts: Sequence[Rollout] = (),
    *,
    title: str = "monotui",
    boot: Boot | None = None,
    close: Callable[[], None] | None = None,
    notes: Sequence[str] = (),
    inferred: Mapping[str, Mapping[str, str]] | None = None,
    badges: dict[str, str] | None = None,
    terminal: Terminal | None = None,
) -> int:
    """Run the cockpit until the user quits; then close the rollouts (weights stay as they are).
    Returns the exit code: 0 after `q`, 1 when the app crashed (never 0 after a crash).

    With `boot`, the rollouts are built after the first frame (see the module's docstring).
    `notes` are shown once the rollouts are; `inferred` on the help screen (see `Fleet`);
    `badges`: each cluster's badge colour (monotui.clusters.badges); `terminal`: how to draw
    (monotui.terminal.settle; default: Unicode, mouse on).
    """
    terminal = terminal or Terminal(ascii=False, mouse=True)
    app = MonotuiApp(rollouts, title=title, boot=boot, ascii=terminal.ascii, colors16=None)
    if close is not None:
        app.fleet.close = close
    app.fleet.notes = notes
    app.fleet.inferred = inferred or {}
    app.fleet.badges = dict(badges or {})
    app.keep_heap = True
    collector.tune()
    collector.keep_what_lives()  # the modules (and watch's session): no collection walks them
    try:
        # Off over ssh (unless asked): plain selection works, and no mouse traffic.
        app.run(mouse=terminal.mouse)
    finally:
        # A quit during the start: the boot thread still finishes (Textual's run joins its
        # threads), and what it built is closed here like the rest.
        if app.boot_started:
            app.booted.wait(timeout=30)
        app.shutdown()
        collector.release()
    return app.return_code or 0
