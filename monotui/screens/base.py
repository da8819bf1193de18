"""What every rollout screen shares: the snapshot store it reads, the steering it acts through,
and the one typed channel snapshots arrive by (`show`)."""

from __future__ import annotations

from textual.message import Message
from textual.screen import Screen

from monotui.model import ActionKind, Snapshot
from monotui.screens.commands import WRITING, applies, why_not
from monotui.screens.steering import Steering
from monotui.screens.store import SnapshotStore


class CockpitWanted(Message):
    """A screen (or the palette) asks the app to show the cockpit of `rollout`."""

    def __init__(self, rollout: str) -> None:
        super().__init__()
        self.rollout = rollout


class RolloutScreen(Screen[None]):
    """A screen that shows rollouts: it is handed each new snapshot through `show`, and catches up
    from the store when it is shown again (hidden screens are not handed snapshots). Its writing
    keys (a, p, r, P, w) act on `target_rollout()`: the cockpit's rollout, or the fleet's
    highlighted row."""

    def __init__(self, store: SnapshotStore, steering: Steering, *, name: str | None = None):
        super().__init__(name=name)
        self.store = store
        self.steering = steering

    def show(self, snapshot: Snapshot) -> None:
        """A new snapshot of one rollout."""

    # --- the writing keys (a, p, r, P, w), acting on `target_rollout()` ------------------------

    def target_rollout(self) -> str | None:
        """The rollout the keys act on, or None (nothing to steer yet)."""
        raise NotImplementedError

    def target_snapshot(self) -> Snapshot | None:
        """The newest snapshot of the target rollout."""
        rollout = self.target_rollout()
        return None if rollout is None else self.store.get(rollout)

    def check_writing(self, action: str) -> bool | None:
        """Writing keys vanish in read-only mode (and before the rollout is known) and are dimmed
        when they do not apply; other actions are left to the screen (True)."""
        if action not in WRITING:
            return True
        if self.target_rollout() is None:
            return False
        snapshot = self.target_snapshot()
        if snapshot is not None and snapshot.read_only:
            return False
        return True if applies(action, snapshot) else None

    def action_explain(self, command_id: str) -> None:
        """A writing key that cannot act now says why (see commands.bindings)."""
        if self.target_rollout() is None:
            text = "nothing to steer yet: the rollouts are still being read"
        else:
            text = why_not(command_id, self.target_snapshot()) or "try again: it applies now"
        self.notify(text, severity="warning", markup=False)

    def _steer(self, kind: ActionKind) -> None:
        rollout = self.target_rollout()
        if rollout is not None:
            self.steering.now(rollout, kind)

    def action_advance(self) -> None:
        self._steer(ActionKind.ADVANCE)

    def action_pause(self) -> None:
        snapshot = self.target_snapshot()
        paused = snapshot is not None and snapshot.plan.paused
        self._steer(ActionKind.RESUME if paused else ActionKind.PAUSE)

    def action_rollback(self) -> None:
        self._steer(ActionKind.ROLLBACK)

    def action_promote(self) -> None:
        rollout = self.target_rollout()
        if rollout is not None:
            self.steering.promote(rollout)

    def action_set_weight(self) -> None:
        rollout = self.target_rollout()
        if rollout is not None:
            self.steering.set_weight(rollout)

    def on_screen_resume(self) -> None:
        for snapshot in self.store:
            self.show(snapshot)

    def open_cockpit(self, rollout: str) -> None:
        """Ask the app to show the cockpit of `rollout` (over the fleet when there is one)."""
        self.post_message(CockpitWanted(rollout))
