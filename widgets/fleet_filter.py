"""The fleet's filter line: a regular expression, applied as it is typed; enter keeps it, escape
drops the edit (`Cancelled`)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FleetFilter(Input):
    """Shown by `/` on the fleet; hidden again by enter or escape."""

    DEFAULT_CSS = """
    FleetFilter { display: none; }
    FleetFilter.shown { display: block; }
    FleetFilter.-bad { border: tall $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "drop the edit", show=False),
    ]

    class Cancelled(Message):
        """Escape: the filter goes back to what it was before the edit."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="filter: a regular expression (enter keeps it, escape drops it)", id=id
        )

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())
