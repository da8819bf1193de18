"""The top line: which rollout, where, in what phase, with which badges and how fresh the data is."""

from __future__ import annotations

from rich.text import Text

from monotui.model import AutopilotStatus, Phase, Snapshot
from monotui.model.impact import impact_of
from widgets.panel import SnapshotPanel
from widgets.text import age, clean

PHASE_STYLES = {
    Phase.PROGRESSING: "bold green",
    Phase.PAUSED: "bold yellow",
    Phase.PROMOTED: "bold cyan",
    Phase.ROLLED_BACK: "bold magenta",
    Phase.FAILED: "bold red",
}


def autopilot_text(status: AutopilotStatus) -> Text:
    """`autopilot: pod-a, renewed 3s ago`, `autopilot: none`, `autopilot: lease expired (...)`
    or `autopilot: unknown: why` (the holder and the error are outside text: literal)."""
    text = Text("autopilot: ", end="")
    renewed = f"renewed {age(status.renewed_age_s)} ago"
    if status.error:
        text.append("unknown", style="bold red")
        text.append(f": {clean(status.error)}", style="dim")
    elif status.live:
        text.append(clean(status.holder), style="bold cyan")
        text.append(f" (this process), {renewed}" if status.here else f", {renewed}")
    elif status.expired:
        text.append("lease expired", style="bold yellow")
        text.append(f" ({clean(status.holder)}, {renewed})", style="dim")
    else:
        text.append("none", style="dim")
    return text


class RolloutHeader(SnapshotPanel):
    """name · namespace/context · phase · OFF ROUTE · backend · policy · autopilot ·
    READ-ONLY / DRY-RUN · data age."""

    DEFAULT_CSS = """
    RolloutHeader {
        height: 1;
        border: none;
        padding: 0 1;
        background: $panel;
    }
    """

    def digest(self, snapshot: Snapshot | None) -> object:
        if snapshot is None:
            return None
        data_age = (
            None if snapshot.newest_data_t is None else int(snapshot.t - snapshot.newest_data_t)
        )
        return (
            snapshot.rollout,
            snapshot.namespace,
            snapshot.context,
            snapshot.phase,
            snapshot.backend,
            snapshot.policy,
            snapshot.read_only,
            snapshot.dry_run,
            data_age,
            _autopilot_digest(snapshot.autopilot),
            _impact(snapshot),
            snapshot.split_disagreement is not None,
        )

    def draw(self, snapshot: Snapshot | None, width: int) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if snapshot is None:
            text.append("waiting for the first poll…", style="dim")
            return text
        if snapshot.read_only:
            text.append(" READ-ONLY ", style="bold reverse red")
            text.append(" ")
        if snapshot.dry_run:
            text.append(" DRY-RUN ", style="bold reverse yellow")
            text.append(" ")
        text.append(clean(snapshot.rollout), style="bold")
        where = snapshot.namespace + (f"@{snapshot.context}" if snapshot.context else "")
        text.append(f"  {clean(where)}", style="dim")
        text.append("  ")
        text.append(snapshot.phase.value, style=PHASE_STYLES.get(snapshot.phase, "bold"))
        if snapshot.split_disagreement is not None:
            # Before everything the keys would act on: they move the route, not the traffic.
            text.append("  ")
            text.append(" OFF ROUTE ", style="bold reverse yellow")
        impact = _impact(snapshot)
        if impact:
            # The live impact meter: bad requests served beyond the baseline's rate so far.
            text.append("  impact ", style="dim")
            text.append(impact, style="bold red" if not impact.startswith("+0 ") else "")
        text.append(f"  {clean(snapshot.backend)}", style="dim")
        text.append(f"  policy {clean(snapshot.policy)}")
        if snapshot.autopilot is not None:
            text.append("  ")
            text.append_text(autopilot_text(snapshot.autopilot))
        text.append("  data ")
        if snapshot.newest_data_t is None:
            text.append("NO DATA", style="bold yellow")
        else:
            text.append(f"{age(snapshot.t - snapshot.newest_data_t)} ago")
        return text


def _autopilot_digest(status: AutopilotStatus | None) -> object:
    if status is None:
        return None
    renewed = None if status.renewed_age_s is None else int(status.renewed_age_s)
    return (status.holder, status.live, status.here, status.error, renewed)


def _impact(snapshot: Snapshot) -> str:
    """ "+1,204 5xx" (the kind of bad request with the most excess), "" without evidence."""
    worst = impact_of(snapshot).worst
    return "" if worst is None else f"+{worst.excess:,.0f} {clean(worst.what)}"
