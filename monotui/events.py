"""The event stream: typed events (monotui.model.events) delivered in order to every subscriber.

One bus per program. Publishing is thread-safe and ordered: events are numbered as they are
published and every subscriber sees them in that order, whichever thread published them. Delivery
is synchronous on the publishing thread, so a subscriber must be quick and must not publish or act
on a rollout (it may read its snapshot): the UI posts a message, the headless runner prints a line,
a notifier puts the event on its own queue. A subscriber that raises is logged and skipped; it never stops the
others or the rollout.

Publishers never hold a rollout's lock while publishing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from monotui.model import Event

log = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]


class EventBus:
    """Subscribers in, events out, in one order."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # re-entrant only to fail loudly below, not to deadlock
        self._subscribers: tuple[Subscriber, ...] = ()
        self._delivering = threading.local()
        self.published = 0
        """How many events went out (the sequence number of the newest)."""

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Deliver every event published from now on to `subscriber`; returns the unsubscribe."""
        with self._lock:
            self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Deliver `event` to every subscriber, in subscription order, after every earlier event."""
        if getattr(self._delivering, "active", False):
            raise RuntimeError("a subscriber published an event: subscribers must only hand off")
        with self._lock:
            self.published += 1
            self._delivering.active = True
            try:
                for subscriber in self._subscribers:
                    try:
                        subscriber(event)
                    except Exception:  # one broken subscriber must not silence the others
                        log.exception("event subscriber %r failed", subscriber)
            finally:
                self._delivering.active = False
