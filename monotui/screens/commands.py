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
)
WRITING = frozenset(c.id for c in COCKPIT_COMMANDS if c.writes)


def bindings(commands: tuple[Command, ...]) -> list[BindingType]:
    """Textual bindings for `commands`, each with `id=` so a keymap can rebind it."""
    return [
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


def applies(command_id: str, snapshot: Snapshot | None) -> bool:
    """Whether a writing command makes sense now (advance at 100 % does not)."""
    if snapshot is None:
        return command_id not in WRITING
    plan = snapshot.plan
    if command_id == "advance":
        return plan.next_step is not None
    if command_id == "promote":
        return plan.canary_pct < 100
    if command_id == "rollback":
        return plan.canary_pct > 0 or plan.phase == Phase.PROMOTED
    return True
