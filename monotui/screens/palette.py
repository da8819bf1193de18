"""The command palette's view of the catalogue: every action for every rollout, a failing
rollout's kill switch first; on the fleet, the k9s-style commands (`:ns`, `:ctx`, `:filter`,
`:sort`, `:group`). Outside text in it is shown literally."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import cast

from rich.text import Text
from textual.command import Hit, Hits, Provider

from monotui.model import ActionKind, VerdictResult
from monotui.model.fleet import GROUPINGS, SORT_KEYS, Grouping
from monotui.screens.base import RolloutScreen
from monotui.screens.fleet import FleetScreen
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


FLEET_VERBS = {
    "ns": "show one namespace (ns all: every one)",
    "ctx": "show one cluster (ctx all: every one)",
    "filter": "filter by a regular expression (filter alone: no filter)",
    "sort": "sort by a column: " + ", ".join(SORT_KEYS) + " (add ! to reverse)",
    "group": "group by " + ", ".join(GROUPINGS),
}


def fleet_command(screen: FleetScreen, text: str) -> PaletteEntry | None:
    """The k9s-style command `text` ("ns team-1", ":ctx prod", "sort canary!") as what it does
    on the fleet; None when it is not one."""
    verb, _, arg = text.strip().lstrip(":").strip().partition(" ")
    arg = arg.strip()
    everything = arg in ("", "all", "*")
    if verb == "ns":
        ns = None if everything else arg
        return PaletteEntry(
            f"ns {arg or 'all'}", FLEET_VERBS["ns"], partial(screen.apply_namespace, ns)
        )
    if verb == "ctx":
        ctx = None if everything else arg
        return PaletteEntry(
            f"ctx {arg or 'all'}", FLEET_VERBS["ctx"], partial(screen.apply_cluster, ctx)
        )
    if verb == "filter":

        def run_filter() -> None:
            screen.apply_filter(arg)  # a bad regex is said on the fleet itself

        return PaletteEntry(f"filter {arg}", FLEET_VERBS["filter"], run_filter)
    if verb == "sort":
        key = arg.rstrip("!") or "severity"
        if key not in SORT_KEYS:
            return None
        run = partial(screen.apply_sort, key, arg.endswith("!"))
        return PaletteEntry(f"sort {arg or key}", FLEET_VERBS["sort"], run)
    if verb == "group" and (arg or "none") in GROUPINGS:
        group = cast(Grouping, arg or "none")
        return PaletteEntry(
            f"group {arg or 'none'}", FLEET_VERBS["group"], partial(screen.apply_group, group)
        )
    return None


def fleet_entries(screen: FleetScreen) -> Iterator[PaletteEntry]:
    """The fleet's commands for what it holds: each namespace, each cluster, each sort and
    grouping."""
    for text in (
        ["ns all", *(f"ns {ns}" for ns in screen.namespaces())]
        + (
            ["ctx all", *(f"ctx {c}" for c in screen.clusters())]
            if len(screen.clusters()) > 1
            else []
        )
        + [f"sort {k}" for k in SORT_KEYS]
        + [f"group {g}" for g in GROUPINGS]
        + ["filter"]
    ):
        entry = fleet_command(screen, text)
        if entry is not None:
            yield entry


class FleetCommands(Provider):
    """The fleet's k9s-style commands in the palette: `:ns NAME`, `:ctx NAME`, `:filter REGEX`,
    `:sort COLUMN`, `:group BY`."""

    async def discover(self) -> Hits:
        screen = self.screen
        if isinstance(screen, FleetScreen):
            entries = list(fleet_entries(screen))
            for i, entry in enumerate(entries):
                score = 0.5 - i / (2 * len(entries) + 2)
                yield Hit(score, _display(entry.text), entry.run, text=entry.text, help=entry.help)

    async def search(self, query: str) -> Hits:
        screen = self.screen
        if not isinstance(screen, FleetScreen):
            return
        typed = fleet_command(screen, query)
        if typed is not None:  # exactly what was typed comes first, whatever its argument
            yield Hit(1.0, _display(typed.text), typed.run, text=typed.text, help=typed.help)
        matcher = self.matcher(query.lstrip(":"))
        for entry in fleet_entries(screen):
            score = matcher.match(entry.text)
            if score > 0 and (typed is None or entry.text != typed.text):
                yield Hit(
                    score * 0.8, _display(entry.text), entry.run, text=entry.text, help=entry.help
                )
