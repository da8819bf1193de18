"""The notifier: a subscriber of the event bus that hands each event to every sink that wants it.

Quick on the publishing thread (it composes, reads the rollout's snapshot, and appends to each
courier's inbox); the deliveries happen on the couriers' threads. A ticker thread lets deferred
messages (NO DATA, a failing source) fall due on the rollout's clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from monotui.model import Event
from monotui.notify.compose import Composer
from monotui.notify.courier import Courier
from monotui.notify.settings import NotifySettings

TICK_S = 0.5


@dataclass
class Sink:
    """One configured sink: what it wants, how events become messages, who delivers them."""

    settings: NotifySettings
    composer: Composer
    courier: Courier


class Notifier:
    """Events in, messages to the sinks. Call it with each event (subscribe it to the bus)."""

    def __init__(self, sinks: list[Sink], clock: Callable[[], float]) -> None:
        self.sinks = sinks
        self.clock = clock
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="monotui notify", daemon=True)

    def start(self) -> Notifier:
        for sink in self.sinks:
            sink.courier.start()
        self._ticker.start()
        return self

    def __call__(self, event: Event) -> None:
        for sink in self.sinks:
            if sink.settings.rollouts and event.rollout not in sink.settings.rollouts:
                continue
            for message in sink.composer.event(event):
                if message.answers(sink.settings.events):
                    sink.courier.offer(message)

    def tick(self) -> None:
        """Hand out the deferred messages that are due."""
        now = self.clock()
        for sink in self.sinks:
            for message in sink.composer.due(now):
                if message.answers(sink.settings.events):
                    sink.courier.offer(message)

    def flush(self, timeout_s: float) -> bool:
        """Wait until every sink delivered what it has (True) or `timeout_s` passed."""
        self.tick()
        return all(sink.courier.flush(timeout_s) for sink in self.sinks)

    def close(self, timeout_s: float = 5.0) -> int:
        """Deliver what can be delivered within `timeout_s` and stop; returns the messages left
        queued on disk for the next run."""
        self._stop.set()
        self.tick()
        left = sum(sink.courier.close(timeout_s) for sink in self.sinks)
        if self._ticker.is_alive():
            self._ticker.join(2 * TICK_S)
        return left

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_S):
            self.tick()
