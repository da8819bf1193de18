"""The help screen: every key from the catalogue, what each panel means, and how discovery
inferred the rollouts' settings (so a wrong guess is visible)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from monotui.outside_text import literal
from monotui.screens.commands import APP_COMMANDS, COCKPIT_COMMANDS

PANELS = (
    ("header", "rollout, namespace@context, phase, backend, policy, READ-ONLY/DRY-RUN, data age"),
    (
        "error rate",
        "baseline vs canary in % (the legend shows each one's colour and mark), x in minutes; "
        "the red line is the failure limit; "
        "grey marks: weight changes, coloured marks: verdict changes. A column is drawn once its "
        "time span is over; the legend above shows the newest values. Without colour (NO_COLOR) "
        "the canary is drawn in •",
    ),
    ("p99 latency", "baseline vs canary p99 in ms, drawn the same way"),
    ("weights", "configured: what the router says; observed: the split of request rates"),
    ("plan", "the steps with the current one highlighted, the hold timer, what happens next"),
    (
        "verdict",
        "PASS / MARGINAL / FAIL / NO DATA, score, per metric medians, p-value, effect, samples, reason",
    ),
    (
        "flags",
        "key (! marks a kill switch), state, variant (the default variant = its value), "
        "enter → (what a toggle sets), targeting",
    ),
    ("events", "actions (who did them), automation, verdict changes, source errors; newest last"),
    (
        "states",
        "NO DATA: never answered; STALE (age): last answer is old; ERROR: why it failed. Never zero.",
    ),
)


FLEET_NOTE = (
    "On the fleet, a p r P w act on the highlighted rollout, with the same questions; enter opens "
    "its cockpit."
)
SMALL_NOTE = (
    "Below 120 columns the panels stack: the charts, weights, plan and verdict fill the first "
    "screen, the flags and events follow below. f jumps to the flags, tab then moves to the "
    "events; the mouse wheel or page down scrolls."
)


def help_text(inferred: Mapping[str, Mapping[str, str]] | None = None) -> Group:
    """The keys and panels, and how discovery inferred each rollout's settings; tables, so
    wrapped lines keep their column at any width."""
    keys = Table.grid(padding=(0, 2))
    keys.add_column(style="bold", no_wrap=True)
    keys.add_column(no_wrap=True)
    keys.add_column(style="dim")
    for command in (*COCKPIT_COMMANDS, *APP_COMMANDS):
        keys.add_row(command.key_display or command.key, command.label, command.help)
    keys.add_row("ctrl+p", "commands", "the same palette")
    panels = Table.grid(padding=(0, 2))
    panels.add_column(style="bold", no_wrap=True)
    panels.add_column()
    for name, meaning in PANELS:
        panels.add_row(name, meaning)
    found: list[Text | Table] = [Text("")]
    if inferred and any(inferred.values()):
        found = [Text(""), Text("How discovery found them", style="bold underline")]
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(style="dim")
        for rollout, source in inferred.items():
            for i, (key, how) in enumerate(source.items()):
                # Outside text (names, labels): literal, never markup.
                table.add_row(
                    Text(literal(rollout) if i == 0 else ""), Text(key), Text(literal(how))
                )
        found += [
            table,
            Text(
                "A wrong guess: set that key in monotui.toml, under the rollout's [[rollouts]] "
                "entry (same name and namespace); 'monotui discover' prints one to start from."
            ),
            Text(""),
        ]
    return Group(
        Text("Keys", style="bold underline"),
        keys,
        Text(FLEET_NOTE),
        Text(""),
        Text("Panels", style="bold underline"),
        panels,
        *found,
        Text(SMALL_NOTE),
        Text(
            "In read-only mode the keys that write are hidden, and pressing one says why; a key "
            "that does not apply now (a at 100 %) says why too.",
            style="italic",
        ),
    )


class HelpScreen(ModalScreen[None]):
    """Keys and panels; any of escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen > VerticalScroll {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "close", "close", id="help.close")]

    def __init__(self, inferred: Mapping[str, Mapping[str, str]] | None = None) -> None:
        super().__init__()
        self.inferred = inferred or {}

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_text(self.inferred))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "help"

    def action_close(self) -> None:
        self.dismiss(None)
