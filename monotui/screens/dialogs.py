"""The two dialogs: a yes/no confirmation and an exact-weight input (whole percentages 0..100)."""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from widgets.text import clean as literal

DIALOG_CSS = """
    {name} {{ align: center middle; background: $background 60%; }}
    {name} > Vertical {{
        width: 64; max-width: 100%; height: auto;
        border: thick $warning; background: $surface; padding: 1 2;
    }}
    {name} Label {{ width: 100%; margin-bottom: 1; }}
    {name} Horizontal {{ height: auto; align-horizontal: right; }}
    {name} Button {{ margin-left: 2; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Asks one question; `y`/enter on Yes confirms, `n`/escape cancels. Dismisses with the answer."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS = [
        Binding("y", "answer(True)", "yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "no", id="confirm.no"),
    ]

    def __init__(self, question: Text | str, *, yes: str = "Yes") -> None:
        super().__init__()
        # A str is shown literally too: questions quote flag keys.
        self.question = question if isinstance(question, Text) else Text(question)
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, markup=False)
            with Horizontal():
                yield Button("No (n)", id="no")
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


WHOLE_PERCENT = re.compile(r"\s*(\d{1,3})\s*%?\s*")


def parse_weight(text: str) -> int | str:
    """The canary weight typed, or why it is not one. Only whole percentages: `2.5` or `10.0`
    are refused as typed (never read as 25 or 100), and so is anything outside 0..100."""
    match = WHOLE_PERCENT.fullmatch(text)
    if match is None:
        shown = literal(text, max_len=20, spell_breaks=True)
        if re.fullmatch(r"\s*[\d.,]+\s*%?\s*", text):
            return f"'{shown}' is not a whole percentage: type a whole number from 0 to 100"
        return f"'{shown}' is not a number: type a whole number from 0 to 100"
    value = int(match.group(1))
    if value > 100:
        return f"{value} is more than 100: type a whole number from 0 to 100"
    return value


class WeightInputScreen(ModalScreen[int | None]):
    """Asks for a canary weight 0..100; enter applies a whole percentage, anything else says what
    is wrong and stays; escape cancels (None)."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="WeightInputScreen")
        + """
    WeightInputScreen .error { color: $error; height: auto; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "cancel", id="weight.cancel")]

    def __init__(self, rollout: str, current: int | None) -> None:
        super().__init__()
        self.rollout = rollout
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            prompt = Text("Canary weight for ", end="")
            prompt.append(self.rollout, style="bold")
            prompt.append(
                f" (0..100 %, now {'unknown' if self.current is None else self.current}):"
            )
            yield Label(prompt, markup=False)
            # Plain text, not type="integer": that one silently drops "." and "-", so "2.5"
            # became 25. What was typed is checked whole, and refused with a reason.
            yield Input(placeholder="e.g. 25", max_length=12)
            yield Label("", classes="error", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        parsed = parse_weight(event.value) if event.value.strip() else 0
        self.query_one(".error", Label).update(parsed if isinstance(parsed, str) else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        parsed = parse_weight(event.value)
        if isinstance(parsed, str):
            self.query_one(".error", Label).update(f"{parsed} (nothing was changed)")
            return
        self.dismiss(parsed)

    def action_cancel(self) -> None:
        self.dismiss(None)
