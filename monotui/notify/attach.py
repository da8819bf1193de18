"""Notifications and Kubernetes Events for a session: subscribed to its event bus, started, and
closed (delivering what they can within a deadline, the rest staying queued on disk)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from monotui.events import EventBus, Subscriber
from monotui.model import Event
from monotui.notify.build import build_notifier
from monotui.notify.kube_events import KubeEvents
from monotui.notify.notifier import Notifier
from monotui.notify.settings import NotifySettings

if TYPE_CHECKING:
    from monotui.rollout import Rollout


@dataclass
class Attached:
    """What `attach` subscribed; `close()` once, at the end of the session."""

    notifier: Notifier | None = None
    kube_events: KubeEvents | None = None
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)

    def close(self, timeout_s: float = 5.0) -> int:
        """Stop listening, deliver within `timeout_s`; returns the messages left queued."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        left = 0
        if self.kube_events is not None:
            self.kube_events.close(timeout_s)
        if self.notifier is not None:
            left = self.notifier.close(timeout_s)
        return left


def attach(
    sinks: Sequence[NotifySettings],
    rollouts: Sequence[Rollout],
    bus: EventBus,
    *,
    clock: Callable[[], float] = time.time,
    kube_events: bool = True,
    persist: bool = True,
    folder: Path | None = None,
    only: Callable[[str], bool] | None = None,
) -> Attached:
    """Subscribe the notifier of `sinks` (ConfigError when a secret is missing) and, unless
    `kube_events` is False, the Kubernetes Events poster, to `bus`. With `only`, the events of a
    rollout go out only while `only(rollout)` says so (the autopilot: while it holds the
    rollout's Lease, so that its standbys do not repeat every message)."""
    attached = Attached()
    attached.notifier = build_notifier(sinks, rollouts, clock=clock, persist=persist, folder=folder)
    if attached.notifier is not None:
        attached.notifier.start()
        attached._unsubscribe.append(bus.subscribe(_filtered(attached.notifier, only)))
    if kube_events:
        attached.kube_events = KubeEvents(rollouts).start()
        attached._unsubscribe.append(bus.subscribe(_filtered(attached.kube_events, only)))
    return attached


def _filtered(subscriber: Subscriber, only: Callable[[str], bool] | None) -> Subscriber:
    if only is None:
        return subscriber

    def deliver(event: Event) -> None:
        if only(event.rollout):
            subscriber(event)

    return deliver
