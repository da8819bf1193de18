"""One rollout's events: stamped with its clock and name, kept for its snapshots (the newest
`MAX_EVENTS`), and published to the program's event bus."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from monotui.events import EventBus
from monotui.model import Event, EventLevel
from monotui.outside_text import redact_urls_in

MAX_EVENTS = 200

E = TypeVar("E", bound=Event)


class Told:
    """What the parts of one rollout tell the world. Thread-safe; never called under their locks."""

    def __init__(self, rollout: str, clock: Callable[[], float], bus: EventBus | None) -> None:
        self.rollout = rollout
        self.clock = clock
        self.bus = bus or EventBus()
        # Re-entrant: a subscriber may read a snapshot of the rollout it hears about.
        self._lock = threading.RLock()
        self._recent: tuple[Event, ...] = ()

    def tell(self, cls: type[E], text: str, level: EventLevel = EventLevel.INFO, **facts: Any) -> E:
        """Make an event of type `cls` now, keep it, publish it; returns it."""
        # Every event leaves the process (the screen, the headless log, notifications): a URL's
        # password in an error it quotes never does.
        event = cls(self.clock(), self.rollout, redact_urls_in(text), level, **facts)
        with self._lock:  # held while publishing: the history and the bus see one order
            kept: list[Event] = [*self._recent[-(MAX_EVENTS - 1) :], event]
            self._recent = tuple(kept)
            self.bus.publish(event)
        return event

    def recent(self) -> tuple[Event, ...]:
        """The newest events, oldest first."""
        with self._lock:
            return self._recent
