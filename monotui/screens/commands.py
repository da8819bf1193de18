"""One command catalogue feeding the key bindings, the footer, the help screen and the palette.

A binding's id is the command id (users rebind by id), and `action_<id>` on the cockpit runs it.
The palette (screens/palette.py) offers the same commands for every rollout.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from monotui.model import Phase, Snapshot


@dataclass(frozen=True, slots=True)
class Command:
    """One thing a user can do, with its default key."""

    id: str
    key: str
    label: str
    help: str
    writes: bool = False
    show: bool = True
    key_display: str | None = None


COCKPIT_COMMANDS: tuple[Command, ...] = (
    Command("advance", "a", "advance", "one step up the plan (immediate)", writes=True),
    Command("pause", "p", "pause", "pause or resume the automation (immediate)", writes=True),
    Command(
        "rollback", "r", "rollback", "canary weight to 0, immediately, never asks", writes=True
    ),
    Command("promote", "P", "promote", "canary to 100 % (asks first)", writes=True),
    Command("set_weight", "w", "weight", "set an exact canary weight (asks for it)", writes=True),
    Command("flags", "f", "flags", "focus the flags; enter toggles the selected one (asks first)"),
    Command("curl", "h", "curl", "the curl line that reaches the canary, to try by hand"),
    Command("back", "escape", "fleet", "back to the fleet"),
)
APP_COMMANDS: tuple[Command, ...] = (
    Command("help", "question_mark", "help", "keys and what the panels mean", key_display="?"),
    Command(
        "palette", "colon", "palette", "every action for every rollout", show=False, key_display=":"
    ),
    Command("quit", "q", "quit", "quit; the rollout keeps its last weight"),
    Command("redraw", "ctrl+l", "redraw", "draw the whole screen again", show=False),
)
WRITING = frozenset(c.id for c in COCKPIT_COMMANDS if c.writes)


def bindings(commands: tuple[Command, ...]) -> list[BindingType]:
    """Textual bindings for `commands`, each with `id=` so a keymap can rebind it.

    Each writing command also gets a hidden binding on the same key, listed after it, that
    runs `explain(<id>)`: Textual tries it only when the command itself is hidden (read-only)
    or dimmed (it does not apply), so a key always acts or says why (its id is `<id>.why`).
    """
    found: list[BindingType] = [
        Binding(
            c.key,
            c.id,
            c.label,
            show=c.show,
            tooltip=c.help,
            id=c.id,
            key_display=c.key_display,
        )
        for c in commands
    ]
    found += [
        Binding(c.key, f"explain('{c.id}')", c.label, show=False, id=f"{c.id}.why")
        for c in commands
        if c.writes
    ]
    return found


def applies(command_id: str, snapshot: Snapshot | None) -> bool:
    """Whether a writing command makes sense now (advance at 100 % does not)."""
    return why_not(command_id, snapshot) is None


def why_not(command_id: str, snapshot: Snapshot | None) -> str | None:
    """Why a writing command does nothing now, in a sentence; None when it acts."""
    if command_id not in WRITING:
        return None
    key = next(c.key for c in COCKPIT_COMMANDS if c.id == command_id)
    if snapshot is None:
        return f"{key} does nothing yet: the rollouts are still being read"
    if snapshot.read_only:
        return (
            f"read-only: {key} ({command_id.replace('_', ' ')}) does nothing: monotui was "
            "started with --read-only, so nothing can be written"
        )
    plan = snapshot.plan
    if snapshot.weights is None:
        # Before the first route read: a rollback (and a pause) still act, the actuator reads
        # the route itself; moving traffic up waits until the weights are on screen.
        if command_id in ("rollback", "pause"):
            return None
        return f"{key} waits for the route: it has not been read yet (r still rolls back)"
    if command_id == "advance" and plan.next_step is None:
        return "nothing to advance: the canary has 100 % already"
    if command_id == "promote" and plan.canary_pct >= 100:
        return "already promoted: the canary has 100 %"
    if command_id == "rollback" and plan.canary_pct == 0 and plan.phase != Phase.PROMOTED:
        return "nothing to roll back: the canary has 0 % already"
    return None
