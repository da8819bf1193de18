"""The help screen: every key from the catalogue and what each panel means."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from monotui.screens.commands import APP_COMMANDS, COCKPIT_COMMANDS

PANELS = (
    ("header", "rollout, namespace@context, phase, backend, policy, READ-ONLY/DRY-RUN, data age"),
    (
        "error rate",
        "baseline (blue) vs canary (orange) in %, the red limit line; grey marks: weight changes, coloured marks: verdict changes",
    ),
    ("p99 latency", "baseline vs canary p99 in ms"),
    ("weights", "configured: what the router says; observed: the split of request rates"),
    ("plan", "the steps with the current one highlighted, the hold timer, what happens next"),
    (
        "verdict",
        "PASS / MARGINAL / FAIL / NO DATA, score, per metric medians, p-value, effect, samples, reason",
    ),
    (
        "flags",
        "key, state, default variant, value, targeting, what enter does; ! marks a kill switch",
    ),
    ("events", "actions (who did them), automation, verdict changes, source errors; newest last"),
    (
        "states",
        "NO DATA: never answered; STALE (age): last answer is old; ERROR: why it failed. Never zero.",
    ),
)


def help_text() -> Text:
    """The keys and panels as one Text."""
    text = Text(end="")
    text.append("Keys\n", style="bold underline")
    for command in (*COCKPIT_COMMANDS, *APP_COMMANDS):
        key = command.key_display or command.key
        text.append(f"  {key:<8}", style="bold")
        text.append(f"{command.label:<14}", style="")
        text.append(f"{command.help}\n", style="dim")
    text.append("  ctrl+p  commands      the same palette\n", style="")
    text.append("\nPanels\n", style="bold underline")
    for name, meaning in PANELS:
        text.append(f"  {name:<12}", style="bold")
        text.append(f"{meaning}\n")
    text.append("\nIn read-only mode the keys that write are hidden and refused.", style="italic")
    return text


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

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_text())

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "help"

    def action_close(self) -> None:
        self.dismiss(None)
