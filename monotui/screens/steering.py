"""Turning a key or a palette choice into an Action, asking first where DESIGN.md says so.

Roll back and pause/resume are immediate; so is advance, unless the judge says FAIL: moving
traffic towards a failing canary asks first, and the question says what the judge says. Promote
asks (naming the verdict); set-weight asks for the number, and then asks like promote for 100 %
and like advance for any raise while the verdict is FAIL. Flag toggles ask. The same functions
serve the cockpit's and the fleet's keys and the palette, so all of them have the same safety.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import App

from monotui.model import Action, ActionKind, Snapshot, VerdictResult
from monotui.screens.dialogs import ConfirmScreen, WeightInputScreen
from monotui.screens.store import SnapshotStore
from widgets.text import clean, key_text


def judge_says(snapshot: Snapshot | None) -> Text:
    """ "The judge says FAIL (score 12): canary error rate 4.1 % vs 0.5 %." for a question."""
    text = Text("The judge says ", end="")
    if snapshot is None:
        text.append("nothing yet (no snapshot).", style="bold")
        return text
    verdict = snapshot.verdict
    style = "bold red" if verdict.result == VerdictResult.FAIL else "bold"
    text.append(verdict.result.value, style=style)
    if verdict.score is not None:
        text.append(f" (score {verdict.score:.0f})")
    if verdict.reason:
        text.append(f": {clean(verdict.reason, max_len=300)}")
    text.append(".")
    return text


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
        """An immediate action; an advance on a FAIL verdict asks first."""
        action = Action(kind, rollout, origin=origin)
        snapshot = self.store.get(rollout)
        if kind == ActionKind.ADVANCE and _failing(snapshot):
            step = snapshot.plan.next_step if snapshot else None
            where = f" to {step} %" if step is not None else ""
            self._ask_towards_failing(action, f"Advance {rollout}{where} anyway?", "Advance")
            return
        self._apply(action)

    def promote(self, rollout: str, origin: str = "key") -> None:
        """Canary to 100 %, after a yes; the question names the verdict."""
        self._confirm_promote(Action(ActionKind.PROMOTE, rollout, origin=origin))

    def set_weight(self, rollout: str, origin: str = "key") -> None:
        """An exact canary weight, after asking for it (and, for 100 % or a raise on a FAIL
        verdict, after asking again)."""
        snapshot = self.store.get(rollout)
        current = snapshot.weights.canary if snapshot and snapshot.weights else None

        def answered(weight: int | None) -> None:
            if weight is None:
                self.app.notify("set weight cancelled: nothing changed", markup=False)
                return
            action = Action(ActionKind.SET_WEIGHT, rollout, origin=origin, weight_pct=weight)
            latest = self.store.get(rollout)
            if weight == 100:
                self._confirm_promote(action)  # the same question as P
            elif _failing(latest) and (current is None or weight > current):
                question = f"Raise {rollout}'s canary to {weight} % anyway?"
                self._ask_towards_failing(action, question, "Raise")
            else:
                self._apply(action)

        self.app.push_screen(WeightInputScreen(key_text(rollout), current), answered)

    def toggle_flag(self, rollout: str, flag_key: str, origin: str = "key") -> None:
        """Toggle one flag, after a yes."""
        snapshot = self.store.get(rollout)
        flag = next((f for f in snapshot.flags if f.key == flag_key), None) if snapshot else None
        if flag is None or flag.toggle is None:
            self.app.notify(
                f"flag {key_text(flag_key)} cannot be toggled", severity="warning", markup=False
            )
            return
        question = Text("Toggle flag ", end="")
        question.append(key_text(flag_key), style="bold")
        question.append(f" of {key_text(rollout)}: {clean(flag.toggle)}?")
        if snapshot is not None and flag_key in snapshot.kill_switches and not flag.is_on:
            question.append("\nIt is a kill switch and it is off: this turns it back on.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply(
                    Action(ActionKind.TOGGLE_FLAG, rollout, origin=origin, flag_key=flag_key)
                )
            else:
                self.app.notify("flag toggle cancelled: nothing changed", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes="Toggle"), answered)

    # --- the questions ----------------------------------------------------------------------

    def _confirm_promote(self, action: Action) -> None:
        question = Text("Promote ", end="")
        question.append(key_text(action.rollout), style="bold")
        question.append(": send 100 % of traffic to the canary?\n")
        question.append_text(judge_says(self.store.get(action.rollout)))

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply(action)
            else:
                self.app.notify("promote cancelled: nothing changed", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes="Promote"), answered)

    def _ask_towards_failing(self, action: Action, ask: str, yes: str) -> None:
        question = judge_says(self.store.get(action.rollout))
        question.append(f"\n{clean(ask)}", style="bold")

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._apply(action)
            else:
                verb = yes.lower()
                self.app.notify(f"{verb} cancelled: nothing changed", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes=yes), answered)


def _failing(snapshot: Snapshot | None) -> bool:
    return snapshot is not None and snapshot.verdict.result == VerdictResult.FAIL
