"""Everything that happened: actions, automation, verdict changes, source errors. Newest at the end,
always scrolled into view."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from rich.text import Text
from textual.events import Resize
from textual.reactive import var
from textual.widgets import RichLog

from monotui.model import Event, EventLevel, Snapshot
from widgets.text import clean

LEVEL_STYLES = {EventLevel.INFO: "", EventLevel.WARN: "yellow", EventLevel.ERROR: "bold red"}
MAX_LINES = 500


def event_line(event: Event) -> Text:
    """`12:03:04 warn  text`, the text literal."""
    stamp = datetime.fromtimestamp(event.t, tz=UTC).astimezone().strftime("%H:%M:%S")
    text = Text(f"{stamp} ", style="dim", end="")
    text.append(f"{event.level.value:<5} ", style=LEVEL_STYLES.get(event.level, ""))
    text.append(clean(event.text), style=LEVEL_STYLES.get(event.level, ""))
    return text


class EventLog(RichLog):
    """Appends the events it has not shown yet; the app may add its own lines with `note()`."""

    DEFAULT_CSS = """
    EventLog {
        height: 1fr;
        min-height: 3;
        border: round $primary 50%;
        padding: 0 1;
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 0;  /* wrap to the full width; auto-scroll keeps the newest in view */
    }
    """

    snapshot: var[Snapshot | None] = var(None, always_update=True, init=False)
    """The rollout whose events to show; set by the screen on every poll."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        # min_width=0: RichLog's default (78) wraps lines wider than the panel, which then cuts them.
        super().__init__(
            id=id,
            classes=classes,
            max_lines=MAX_LINES,
            min_width=0,
            wrap=True,
            markup=False,
            auto_scroll=True,
        )
        self._last: Event | None = None
        self._texts: deque[Text] = deque(maxlen=MAX_LINES)
        self._wrapped_at = 0

    def on_mount(self) -> None:
        self.border_title = "events"

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        events = snapshot.events
        start = 0
        if self._last is not None:
            start = _after(events, self._last)
        for event in events[start:]:
            self._add(event_line(event))
        if events:
            self._last = events[-1]

    def note(self, text: str, level: EventLevel = EventLevel.INFO, t: float | None = None) -> None:
        """A line from the app itself (a worker error), shown like an event."""
        stamp = datetime.now(tz=UTC).timestamp() if t is None else t
        self._add(event_line(Event(stamp, "", text, level)))

    def _add(self, text: Text) -> None:
        self._texts.append(text)
        self.write(text)

    def on_resize(self, event: Resize) -> None:
        # RichLog wraps a line once, when written: wrap them all again at the new width.
        width = self.scrollable_content_region.width
        if width and self._wrapped_at and width != self._wrapped_at:
            self.clear()
            for text in self._texts:
                self.write(text)
        self._wrapped_at = width or self._wrapped_at


def _after(events: tuple[Event, ...], last: Event) -> int:
    """Index of the first event newer than `last` (all of them when `last` fell off the history)."""
    for i in range(len(events) - 1, -1, -1):
        if events[i] is last or events[i] == last:
            return i + 1
    return 0
