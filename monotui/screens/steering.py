"""Turning a key or a palette choice into an Action, asking first where DESIGN.md says so.

Roll back, advance, pause and resume are immediate; promote and flag toggles ask for confirmation;
set-weight asks for the number. The same functions serve the cockpit's and the fleet's keys and the
palette, so all of them have the same safety.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import App

from monotui.model import Action, ActionKind
from monotui.screens.dialogs import ConfirmScreen, WeightInputScreen
from monotui.screens.store import SnapshotStore
from widgets.text import clean


class Steering:
    """Asks what must be asked, then hands the Action to `apply` (the app applies it in a
    worker and shows the result)."""

    def __init__(
        self, app: App[None], store: SnapshotStore, apply: Callable[[Action], None]
    ) -> None:
        self.app = app
        self.store = store
        self._apply = apply

    def now(self, rollout: str, kind: ActionKind, origin: str = "key") -> None:
        """An immediate action."""
        self._apply(Action(kind, rollout, origin=origin))

    def promote(self, rollout: str, origin: str = "key") -> None:
        """Canary to 100 %, after a yes."""
        question = Text("Promote ", end="")
        question.append(clean(rollout), style="bold")
        question.append(": send 100 % of traffic to the canary?")

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply(Action(ActionKind.PROMOTE, rollout, origin=origin))
            else:
                self.app.notify("promote cancelled: nothing changed", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes="Promote"), answered)

    def set_weight(self, rollout: str, origin: str = "key") -> None:
        """An exact canary weight, after asking for it."""
        snapshot = self.store.get(rollout)
        current = snapshot.weights.canary if snapshot and snapshot.weights else None

        def answered(weight: int | None) -> None:
            if weight is not None:
                self._apply(
                    Action(ActionKind.SET_WEIGHT, rollout, origin=origin, weight_pct=weight)
                )

        self.app.push_screen(WeightInputScreen(clean(rollout), current), answered)

    def toggle_flag(self, rollout: str, flag_key: str, origin: str = "key") -> None:
        """Toggle one flag, after a yes."""
        snapshot = self.store.get(rollout)
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
                self._apply(
                    Action(ActionKind.TOGGLE_FLAG, rollout, origin=origin, flag_key=flag_key)
                )
            else:
                self.app.notify("flag toggle cancelled: nothing changed", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes="Toggle"), answered)
