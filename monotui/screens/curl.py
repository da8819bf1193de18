"""The `h` dialog: the exact curl lines that reach the canary, for a human to try by hand. The
lines come from the probes (monotui.sources.synthetics.http_probe.HttpProbe.curl): secrets
appear as $(cat FILE) or ${NAME}, never as their values."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from widgets.text import clean


class CurlScreen(ModalScreen[None]):
    """Shows the lines; escape, enter or h closes it."""

    DEFAULT_CSS = """
    CurlScreen { align: center middle; background: $background 60%; }
    CurlScreen > Vertical {
        width: 100; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    CurlScreen Label { width: 100%; margin-bottom: 1; }
    CurlScreen Static { width: 100%; }
    """
    BINDINGS = [Binding("escape,enter,h", "close", "close", id="curl.close")]

    def __init__(self, rollout: str, lines: tuple[str, ...], note: str = "") -> None:
        super().__init__()
        self.rollout = rollout
        self.lines = lines
        self.note = note

    def compose(self) -> ComposeResult:
        title = Text("Reach the canary of ", style="bold", end="")
        title.append(clean(self.rollout), style="bold")
        title.append(" by hand", style="bold")
        with Vertical():
            yield Label(title, markup=False)
            body = Text("\n\n".join(clean(line) for line in self.lines), end="")
            if self.note:
                body.append("\n\n" + clean(self.note), style="dim italic")
            yield Static(body, markup=False, id="curl-lines")
            yield Label(Text("escape closes", style="dim"), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
