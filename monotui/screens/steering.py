"""Turning a key or a palette choice into an Action, asking first where DESIGN.md says so.

Roll back, advance, pause and resume are immediate; promote and flag toggles ask for confirmation;
set-weight asks for the number. The same functions serve the cockpit's and the fleet's keys and the
palette, so all of them have the same safety.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text

from monotui.model import Action, ActionKind, Snapshot
from monotui.screens.commands import WRITING, applies
from monotui.screens.dialogs import ConfirmScreen, WeightInputScreen
from widgets.text import clean

if TYPE_CHECKING:
    from textual.app import App

    from monotui.app import MonotuiApp


class Steering:
    """Asks what must be asked, then hands the Action to the app to apply in a worker."""

    def __init__(self, app: MonotuiApp) -> None:
        self.app = app

    def now(self, rollout: str, kind: ActionKind, origin: str = "key") -> None:
        """An immediate action."""
        self.app.apply(Action(kind, rollout, origin=origin))

    def promote(self, rollout: str, origin: str = "key") -> None:
        """Canary to 100 %, after a yes."""
        question = Text("Promote ", end="")
        question.append(clean(rollout), style="bold")
        question.append(": send 100 % of traffic to the canary?")

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.apply(Action(ActionKind.PROMOTE, rollout, origin=origin))
            else:
                self.app.notify("promote cancelled: nothing changed", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes="Promote"), answered)

    def set_weight(self, rollout: str, origin: str = "key") -> None:
        """An exact canary weight, after asking for it."""
        snapshot = self.app.snapshots.get(rollout)
        current = snapshot.weights.canary if snapshot and snapshot.weights else None

        def answered(weight: int | None) -> None:
            if weight is not None:
                self.app.apply(
                    Action(ActionKind.SET_WEIGHT, rollout, origin=origin, weight_pct=weight)
                )

        self.app.push_screen(WeightInputScreen(clean(rollout), current), answered)

    def toggle_flag(self, rollout: str, flag_key: str, origin: str = "key") -> None:
        """Toggle one flag, after a yes."""
        snapshot = self.app.snapshots.get(rollout)
        flag = next((f for f in snapshot.flags if f.key == flag_key), None) if snapshot else None
        if flag is None or flag.toggle is None:
            self.app.notify(
                f"flag {clean(flag_key)} cannot be toggled", severity="warning", markup=False
            )
            return
        question = Text("Toggle flag ", end="")
        question.append(clean(flag_key), style="bold")
        question.append(f" of {clean(rollout)}: {clean(flag.toggle)}?")

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.apply(
                    Action(ActionKind.TOGGLE_FLAG, rollout, origin=origin, flag_key=flag_key)
                )
            else:
                self.app.notify("flag toggle cancelled: nothing changed", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes="Toggle"), answered)


class SteeringKeys:
    """The writing keys (a, p, r, P, w) of a screen, acting on `target_rollout()`: the cockpit's
    rollout, or the fleet's highlighted row. Mixed into a Screen, before it in the bases."""

    app: App[None]

    def target_rollout(self) -> str | None:
        """The rollout the keys act on, or None (nothing to steer yet)."""
        raise NotImplementedError

    @property
    def _monotui(self) -> MonotuiApp:
        return cast("MonotuiApp", self.app)

    def target_snapshot(self) -> Snapshot | None:
        """The newest snapshot of the target rollout."""
        rollout = self.target_rollout()
        return None if rollout is None else self._monotui.snapshots.get(rollout)

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

    def _steer(self, kind: ActionKind) -> None:
        rollout = self.target_rollout()
        if rollout is not None:
            self._monotui.steering.now(rollout, kind)

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
            self._monotui.steering.promote(rollout)

    def action_set_weight(self) -> None:
        rollout = self.target_rollout()
        if rollout is not None:
            self._monotui.steering.set_weight(rollout)
