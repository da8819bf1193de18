"""The step plan with the current step highlighted, the hold timer and what happens next."""

from __future__ import annotations

from rich.text import Text

import widgets.look as look
from monotui.model import AutopilotStatus, Snapshot
from widgets.panel import SnapshotPanel
from widgets.text import clean


def clock(seconds: float) -> str:
    """mm:ss (or h:mm:ss)."""
    whole = int(max(seconds, 0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class PlanPanel(SnapshotPanel):
    """1 → 5 → [10] → 25 → 50 → 100, hold 02:10 / 05:00, next: what `a` (or the automation) does."""

    TITLE = "plan"

    def digest(self, snapshot: Snapshot | None) -> object:
        if snapshot is None:
            return None
        pilot = _elsewhere(snapshot)
        return (
            snapshot.plan,
            int(self._held(snapshot)),
            snapshot.hold_s,
            snapshot.next_action,
            snapshot.split_disagreement is not None,
            snapshot.policy,
            (pilot.holder, pilot.next_move) if pilot is not None else None,
        )

    @staticmethod
    def _held(snapshot: Snapshot) -> float:
        """The hold that counts: the acting autopilot's when one holds the Lease elsewhere."""
        pilot = _elsewhere(snapshot)
        if pilot is not None and pilot.hold_elapsed_s is not None:
            return pilot.hold_elapsed_s
        return snapshot.hold_elapsed_s

    def draw(self, snapshot: Snapshot | None, width: int) -> Text:
        text = Text(end="")
        if snapshot is None:
            text.append("NO DATA", style="bold yellow")
            return text
        drawn = look.current()
        plan = snapshot.plan
        current = plan.index
        text.append("steps ")
        if plan.canary_pct == 0:
            text.append(" 0 ", style="bold reverse magenta")
            text.append(drawn.then, style="dim")
        for i, step in enumerate(plan.steps):
            if i:
                text.append(drawn.then, style="dim")
            if i == current and step == plan.canary_pct:
                text.append(f" {step} ", style="bold reverse green")
            elif i == current:
                text.append(f"{step}", style="bold green")
            elif i < current:
                text.append(f"{step}", style="green")
            else:
                text.append(f"{step}", style="dim")
        if plan.canary_pct and plan.canary_pct not in plan.steps:
            text.append(f"  (now {plan.canary_pct} %)", style="bold")
        text.append("\n")
        line_start = len(text.plain)
        text.append("hold ")
        held = self._held(snapshot)
        pilot = _elsewhere(snapshot)
        if snapshot.hold_s > 0:
            done = min(held / snapshot.hold_s, 1.0)
            text.append(f"{clock(held)} / {clock(snapshot.hold_s)}")
            cells = 10
            filled = round(done * cells)
            text.append("  ")
            text.append(drawn.done * filled, style="green")
            text.append(drawn.left * (cells - filled), style="dim")
        else:
            text.append("none")
        automation = f"automation {clean(snapshot.policy)}" + (" (paused)" if plan.paused else "")
        # On the hold's line when it fits, else on a line of its own: never split in two.
        held_cells = Text(text.plain[line_start:]).cell_len
        text.append("\n" if held_cells + 2 + len(automation) > width else "  ")
        text.append(f"automation {clean(snapshot.policy)}")
        if plan.paused:
            text.append(" (paused)", style="bold yellow")
        text.append("\nnext ")
        if pilot is not None:  # the autopilot acts, not this cockpit: show its move
            text.append(f"autopilot {clean(pilot.holder)}: ", style="cyan")
            text.append(clean(pilot.next_move) or drawn.dash, style="bold")
            return text
        if snapshot.split_disagreement is not None:  # a key moves the route, not the traffic
            text.append("the traffic ignores the route", style="bold yellow")
            return text
        text.append(clean(snapshot.next_action) or drawn.dash, style="bold")
        return text


def _elsewhere(snapshot: Snapshot) -> AutopilotStatus | None:
    """The autopilot holding the rollout's Lease live in another process, if one does."""
    pilot = snapshot.autopilot
    return pilot if pilot is not None and pilot.live and not pilot.here else None
