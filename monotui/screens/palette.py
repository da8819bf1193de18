"""The command palette's view of the catalogue: every action for every rollout, a failing
rollout's kill switch first. Outside text in it is shown literally."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from rich.text import Text
from textual.command import Hit, Hits, Provider

from monotui.model import ActionKind, VerdictResult
from monotui.screens.base import RolloutScreen
from widgets.text import clean


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    """One line of the palette: what it says and what it runs."""

    text: str
    help: str
    run: Callable[[], None]
    urgent: bool = False


def palette_entries(screen: RolloutScreen) -> Iterator[PaletteEntry]:
    """Every action for every rollout; a failing rollout's kill-switch toggles come first."""
    urgent: list[PaletteEntry] = []
    rest: list[PaletteEntry] = []
    for snapshot in screen.store:
        name = snapshot.rollout
        rest.append(
            PaletteEntry(
                f"{name}: open cockpit", "show this rollout", partial(screen.open_cockpit, name)
            )
        )
        if snapshot.read_only:
            continue
        steer = screen.steering
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
            # Urgent only while the kill switch is really on (it serves true): once it is off,
            # toggling it turns the broken code back on, which is never the first offer.
            turns_off = kill and failing and flag.is_on
            if turns_off:
                why = "kill switch: turning it off may stop the errors"
            elif kill and not flag.is_on:
                why = "kill switch, off now: this turns it back on (asks first)"
            else:
                why = "asks first"
            entry = PaletteEntry(
                f"{name}: toggle flag {flag.key} ({flag.toggle})",
                why,
                partial(steer.toggle_flag, name, flag.key, "palette"),
                urgent=turns_off,
            )
            (urgent if entry.urgent else rest).append(entry)
    yield from urgent
    yield from rest


class RolloutCommands(Provider):
    """The palette's view of the catalogue: every action, every rollout."""

    async def discover(self) -> Hits:
        # Scored Hits, not DiscoveryHits (all score 0): the palette sorts by score, so the
        # rollouts' actions come before Textual's own commands (theme, screenshot...), in order.
        entries = list(self._entries())
        for i, entry in enumerate(entries):
            score = 1.0 - i / (len(entries) + 1)
            yield Hit(score, _display(entry.text), entry.run, text=entry.text, help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries():
            score = matcher.match(entry.text)
            if score > 0:
                # Kill switches of a failing rollout rank first: they are the fastest fix.
                score = min(1.0, score + 0.5) if entry.urgent else score * 0.9
                yield Hit(score, _display(entry.text), entry.run, text=entry.text, help=entry.help)

    def _entries(self) -> Iterator[PaletteEntry]:
        # The screen the palette was opened over; a help or dialog screen offers nothing.
        screen = self.screen
        return palette_entries(screen) if isinstance(screen, RolloutScreen) else iter(())


def _display(text: str) -> Text:
    # Never the matcher's highlight(): it parses its input as markup, and flag keys are data.
    return Text(clean(text), end="")
