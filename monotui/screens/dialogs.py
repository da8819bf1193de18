"""The two dialogs: a yes/no confirmation and an exact-weight input (0..100)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Button, Input, Label

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


class WeightInputScreen(ModalScreen[int | None]):
    """Asks for a canary weight 0..100; enter applies a valid number, escape cancels (None)."""

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
            yield Input(
                placeholder="e.g. 25",
                type="integer",
                max_length=3,
                validators=[Integer(minimum=0, maximum=100, failure_description="0..100")],
                validate_on=["changed", "submitted"],
            )
            yield Label("", classes="error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.validation_result is not None and not event.validation_result.is_valid:
            self.query_one(".error", Label).update("a whole number from 0 to 100")
            return
        try:
            value = int(event.value)
        except ValueError:
            self.query_one(".error", Label).update("a whole number from 0 to 100")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
