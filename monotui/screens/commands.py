"""One command catalogue feeding the key bindings, the footer, the help screen and the palette.

A binding's id is the command id (users rebind by id), and `action_<id>` on the cockpit runs it.
The palette offers the same commands for every rollout; outside text in it is shown literally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider

from monotui.model import ActionKind, Phase, Snapshot, VerdictResult
from widgets.text import clean

if TYPE_CHECKING:
    from monotui.app import MonotuiApp


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


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    """One line of the palette: what it says and what it runs."""

    text: str
    help: str
    run: Callable[[], None]
    urgent: bool = False


def palette_entries(app: MonotuiApp) -> Iterator[PaletteEntry]:
    """Every action for every rollout; a failing rollout's kill-switch toggles come first."""
    urgent: list[PaletteEntry] = []
    rest: list[PaletteEntry] = []
    for name, snapshot in app.snapshots.items():
        rest.append(
            PaletteEntry(
                f"{name}: open cockpit", "show this rollout", partial(app.open_cockpit, name)
            )
        )
        if snapshot.read_only:
            continue
        steer = app.steering
        for label, kind in (
            ("advance", ActionKind.ADVANCE),
            ("roll back", ActionKind.ROLLBACK),
            ("pause automation", ActionKind.PAUSE),
            ("resume automation", ActionKind.RESUME),
        ):
            rest.append(
                PaletteEntry(
                    f"{name}: {label}", "immediate", partial(steer.now, name, kind, "palette")
                )
            )
        rest.append(
            PaletteEntry(
                f"{name}: promote to 100 %", "asks first", partial(steer.promote, name, "palette")
            )
        )
        rest.append(
            PaletteEntry(
                f"{name}: set weight…",
                "asks for the weight",
                partial(steer.set_weight, name, "palette"),
            )
        )
        failing = snapshot.verdict.result == VerdictResult.FAIL
        for flag in snapshot.flags:
            if flag.toggle is None:
                continue
            kill = flag.key in snapshot.kill_switches
            entry = PaletteEntry(
                f"{name}: toggle flag {flag.key} ({flag.toggle})",
                "kill switch: may stop the errors" if kill and failing else "asks first",
                partial(steer.toggle_flag, name, flag.key, "palette"),
                urgent=kill and failing,
            )
            (urgent if entry.urgent else rest).append(entry)
    yield from urgent
    yield from rest


class RolloutCommands(Provider):
    """The palette's view of the catalogue: every action, every rollout."""

    async def discover(self) -> Hits:
        # Scored Hits, not DiscoveryHits (all score 0): the palette sorts by score, so the
        # rollouts' actions come before Textual's own commands (theme, screenshot...), in order.
        entries = list(palette_entries(self._monotui))
        for i, entry in enumerate(entries):
            score = 1.0 - i / (len(entries) + 1)
            yield Hit(score, _display(entry.text), entry.run, text=entry.text, help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in palette_entries(self._monotui):
            score = matcher.match(entry.text)
            if score > 0:
                # Kill switches of a failing rollout rank first: they are the fastest fix.
                score = min(1.0, score + 0.5) if entry.urgent else score * 0.9
                yield Hit(score, _display(entry.text), entry.run, text=entry.text, help=entry.help)

    @property
    def _monotui(self) -> MonotuiApp:
        return cast("MonotuiApp", self.app)


def _display(text: str) -> Text:
    # Never the matcher's highlight(): it parses its input as markup, and flag keys are data.
    return Text(clean(text), end="")
