"""The base of the text panels: a snapshot in, a Rich Text out, redrawn only when it would change."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import var
from textual.widget import Widget

from monotui.model import Snapshot
from widgets.repaint import changed_regions


class SnapshotPanel(Widget):
    """A bordered panel that draws one aspect of a Snapshot.

    The parent sets `snapshot` on every poll; the panel compares `digest()` of what it shows and
    repaints only when that changed (the header's clock ticks, a quiet plan does not), and then
    only the lines that changed: over ssh every repainted line is bytes on the link.
    """

    DEFAULT_CSS = """
    SnapshotPanel {
        height: auto;
        border: round $primary 50%;
        padding: 0 1;
    }
    """

    TITLE = ""

    snapshot: var[Snapshot | None] = var(None, always_update=True, init=False)
    """The rollout to draw; set by the screen on every poll."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._digest: object = object()
        self._lines = 0
        self._text: Text | None = None  # drawn once per change, reused by render()
        self._text_width = 0

    def on_mount(self) -> None:
        if self.TITLE:
            self.border_title = self.TITLE

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        digest = self.digest(snapshot)
        if digest == self._digest:
            return
        self._digest = digest
        width = self._width()
        text = self._lines_of(snapshot, width)
        if text == self._text and width == self._text_width:
            return  # the inputs moved, the picture did not (a p-value past its third decimal)
        same_width = width == self._text_width
        before = list(self._text.split()) if self._text is not None and same_width else None
        self._text, self._text_width = text, width
        after = list(text.split())
        if before is None or len(before) != len(after) or not self.is_attached:
            # A layout pass only when the panel's height changes.
            self.refresh(layout=len(after) != self._lines)
        else:
            # Only the cells that changed go to the terminal (a hold timer's digits).
            changed = changed_regions(before, after, max(self.size.width, width))
            if changed is None:
                self.refresh()
            elif changed:
                self.refresh(*changed)
        self._lines = len(after)

    def digest(self, snapshot: Snapshot | None) -> object:
        """What the panel shows, comparable; the default is the whole snapshot."""
        return snapshot

    def draw(self, snapshot: Snapshot | None, width: int) -> Text:
        """The panel's content for `snapshot` at `width` columns."""
        raise NotImplementedError

    def render(self) -> Text:
        width = self._width()
        if self._text is None or width != self._text_width:
            self._text, self._text_width = self._lines_of(self.snapshot, width), width
            self._lines = len(self._text.split())
        return self._text

    def _lines_of(self, snapshot: Snapshot | None, width: int) -> Text:
        """`draw` wrapped here, at `width`, and shown unwrapped: line n of this text is row n of
        the panel, so a changed line can be repainted alone."""
        text = self.draw(snapshot, width)
        if not self.is_attached:
            return text
        lines = text.wrap(self.app.console, width)
        shown = Text("\n", end="").join(lines)
        shown.no_wrap, shown.overflow, shown.end = True, "crop", ""
        return shown

    def _width(self) -> int:
        return max(self.content_size.width, 20)
