"""Typed events in, notifications out: which events matter, in which words, with which numbers.

One message per state change, never one per poll: an action; a verdict turning FAIL (and back to
PASS); both versions failing; NO DATA once it has lasted `nodata_after_s`; a source once it has
failed for `source_error_after_s` (and its recovery, if its failure was told); the automation
paused or going on; the rollout finished (rolled back, promoted). Each message has a key of
rollout, event, state and generation (the route's version and the canary's run), so the outbox
can drop what a previous process already queued.

The composer only reads: it asks its `Lookup` for the rollout's snapshot, generation and user.
Deferred messages (NO DATA, failing sources) fall due on the rollout's clock (`due(now)`).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from monotui.model import (
    ActionEvent,
    ActionKind,
    AutomationPaused,
    Event,
    EventLevel,
    OutsideChange,
    Snapshot,
    SourceFailed,
    SourceRecovered,
    VerdictChanged,
    VerdictResult,
)
from monotui.notify.message import Message, act_command, numbers_of, one_line
from monotui.rollout.automation import INCIDENT_BY

SINK_SOURCES = "notify"
"""Sources whose names start with this are the sinks themselves: never told through a sink."""


class Lookup(Protocol):
    """What the composer may read about a rollout (never act on it)."""

    def snapshot(self, rollout: str) -> Snapshot | None: ...

    def generation(self, rollout: str) -> str:
        """What changes when the rollout is a new one: the route's version, the canary's run."""
        ...

    def user(self, rollout: str) -> str:
        """Who acts here (the kube user or the login name)."""
        ...


@dataclass
class _Pending:
    due: float
    make: Callable[[], Message | None]


class Composer:
    """Events to messages for one sink's thresholds. Thread-safe."""

    def __init__(self, lookup: Lookup, *, nodata_after_s: float, source_error_after_s: float):
        self.lookup = lookup
        self.nodata_after_s = nodata_after_s
        self.source_error_after_s = source_error_after_s
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._told: dict[tuple[str, str], str] = {}  # open episodes told: -> their key

    def event(self, event: Event) -> list[Message]:
        """The messages `event` makes now (deferred ones come later from `due`)."""
        if isinstance(event, ActionEvent):
            return self._action(event)
        if isinstance(event, VerdictChanged):
            return self._verdict(event)
        if isinstance(event, SourceFailed):
            return self._source_failed(event)
        if isinstance(event, SourceRecovered):
            return self._recovered(event.rollout, f"source:{event.source}", event.t, event.text)
        if isinstance(event, AutomationPaused):
            return self._paused(event)
        if isinstance(event, OutsideChange) and event.what == "traffic":
            # A route the traffic ignores makes every key lie: told as a source problem, and
            # its end clears it (the observer tells each edge once, not every poll).
            key = f"{event.rollout}|traffic"
            if event.level == EventLevel.WARN:
                title = f"{event.rollout}: the traffic ignores the route"
                return [self._make(event, "source", ("source",), title, key=key)]
            title = f"{event.rollout}: the traffic follows the route again"
            back = f"{key}|back|{event.t:.3f}"
            return [self._make(event, "source", ("source",), title, key=back, clears=(key,))]
        if isinstance(event, OutsideChange) and event.what == "pause":
            # Titles are ours: who paused and why (outside text) stays in the text.
            word = "resumed" if event.text.startswith("automation resumed") else "paused"
            title = f"{event.rollout}: automation {word} elsewhere"
            return [self._make(event, "paused", ("paused",), title)]
        return []

    def due(self, now: float) -> list[Message]:
        """Deferred messages whose time has come on the rollout's clock."""
        with self._lock:
            ready = [(k, p) for k, p in self._pending.items() if p.due <= now]
            for k, _ in ready:
                del self._pending[k]
        out = []
        for k, p in ready:
            message = p.make()
            if message is None:
                continue
            with self._lock:
                self._told[k] = message.key
            out.append(message)
        return out

    # --- actions -------------------------------------------------------------------------------

    def _action(self, event: ActionEvent) -> list[Message]:
        result = event.result
        if result is None or (result.ok and not result.changed):
            return []  # nothing changed: "already at", a dry-run
        action = result.action
        automatic = event.automatic
        who = "automation" if automatic else f"{self.lookup.user(event.rollout)} ({action.origin})"
        finished = result.ok and (
            action.kind == ActionKind.ROLLBACK
            or (result.after is not None and result.after.canary == 100)
        )
        event_name = "finished" if finished else ("automation" if automatic else "action")
        topics = [event_name, "automation" if automatic else "action"]
        if action.kind in (ActionKind.PAUSE, ActionKind.RESUME):
            topics.append("paused")
        verb = _VERBS.get(action.kind, action.kind.value)
        if result.ok and result.after is not None and result.after.canary == 100:
            verb = "promoted"  # the last advance (or a weight of 100) finishes the rollout
        if not result.ok:
            title = f"{event.rollout}: {action.kind.value} {event.outcome} ({who})"
        elif automatic:
            title = f"{event.rollout} {verb} by the automation"
        else:
            title = f"{event.rollout} {verb} by {who}"
        after = result.after or result.before
        # Every action is news (a second rollback a second later too): its key is its own.
        nonce = secrets.token_hex(6)
        key = f"{event.rollout}|action|{action.kind.value}|{after}|{event.outcome}|{nonce}"
        message = self._make(
            event,
            event_name,
            tuple(dict.fromkeys(topics)),
            title,
            key=key,
            who=who,
            reason=action.reason,
            rolled_back=finished and action.kind == ActionKind.ROLLBACK,
        )
        if result.ok and action.kind == ActionKind.ROLLBACK and message.level == "info":
            message = replace(message, level="warn")  # applied, yet the news of the day
        return [message]

    # --- verdicts ------------------------------------------------------------------------------

    def _verdict(self, event: VerdictChanged) -> list[Message]:
        verdict = event.verdict
        if verdict is None:
            return []
        name, gen = event.rollout, self.lookup.generation(event.rollout)
        out: list[Message] = []
        if verdict.result != VerdictResult.NODATA:
            out += self._recovered(name, "nodata", event.t, f"data again: {event.text}")
        if verdict.incident:
            key = f"{name}|verdict|incident|{gen}"
            title = f"{name}: both versions failing (an incident, not the canary)"
            out.append(self._make(event, "verdict", ("verdict",), title, key=key))
            return out
        if verdict.result == VerdictResult.FAIL:
            key = f"{name}|verdict|FAIL|{gen}"
            clears = (f"{name}|verdict|PASS|{gen}",)
            title = f"{name}: verdict FAIL"
            out.append(self._make(event, "verdict", ("verdict",), title, key=key, clears=clears))
        elif verdict.result == VerdictResult.PASS and event.before == VerdictResult.FAIL:
            key = f"{name}|verdict|PASS|{gen}"
            clears = (f"{name}|verdict|FAIL|{gen}",)
            title = f"{name}: verdict back to PASS"
            out.append(self._make(event, "verdict", ("verdict",), title, key=key, clears=clears))
        elif verdict.result == VerdictResult.NODATA:
            key = f"{name}|verdict|NODATA|{gen}"
            seconds = self.nodata_after_s

            def make() -> Message | None:
                snap = self.lookup.snapshot(name)
                if snap is not None and snap.weights is not None and snap.weights.canary == 0:
                    return None  # no canary traffic, no canary data: nothing is wrong
                title = f"{name}: NO DATA for {seconds:.0f}s"
                return self._make(event, "verdict", ("verdict",), title, key=key)

            self._defer((name, "nodata"), event.t + seconds, make)
        return out

    # --- sources and pauses --------------------------------------------------------------------

    def _source_failed(self, event: SourceFailed) -> list[Message]:
        source = event.source
        if source is None or source.name.startswith(SINK_SOURCES):
            return []
        name, seconds = event.rollout, self.source_error_after_s
        slot = (name, f"source:{source.name}")
        with self._lock:
            if slot in self._pending or slot in self._told:
                return []  # the same episode: its first failure counts

        def make() -> Message:
            title = f"{name}: {source.name} failing for {seconds:.0f}s or more"
            key = f"{name}|source|{source.name}|failing"
            return self._make(event, "source", ("source",), title, key=key)

        self._defer(slot, event.t + seconds, make)
        return []

    def _recovered(self, rollout: str, what: str, t: float, text: str) -> list[Message]:
        """The end of an episode: cancelled while deferred, told when its start was told."""
        slot = (rollout, what)
        with self._lock:
            self._pending.pop(slot, None)
            told = self._told.pop(slot, None)
        if told is None:
            return []
        event = Event(t, rollout, text)
        topic = "verdict" if what == "nodata" else "source"
        title = f"{rollout}: {text}"
        key = f"{told}|recovered|{t:.3f}"
        return [self._make(event, topic, (topic,), title, key=key, clears=(told,))]

    def _paused(self, event: AutomationPaused) -> list[Message]:
        if event.action is not None:
            return []  # a pause or resume action: its ActionEvent is the message
        gen = self.lookup.generation(event.rollout)
        if event.by == INCIDENT_BY:
            key = f"{event.rollout}|verdict|incident|{gen}"  # the same state as the verdict's
            title = f"{event.rollout}: both versions failing: the automation holds"
            return [self._make(event, "paused", ("paused", "verdict"), title, key=key)]
        word = "paused" if event.paused else "goes on"
        key = f"{event.rollout}|paused|{event.paused}|{gen}|{event.t:.3f}"
        title = f"{event.rollout}: automation {word}"
        return [self._make(event, "paused", ("paused",), title, key=key, who=event.by)]

    # --- building ------------------------------------------------------------------------------

    def _defer(self, slot: tuple[str, str], due: float, make: Callable[[], Message | None]) -> None:
        with self._lock:
            self._pending.setdefault(slot, _Pending(due, make))

    def _make(
        self,
        event: Event,
        name: str,
        topics: tuple[str, ...],
        title: str,
        *,
        key: str = "",
        who: str = "",
        reason: str = "",
        clears: tuple[str, ...] = (),
        rolled_back: bool = False,
    ) -> Message:
        snap = self.lookup.snapshot(event.rollout)
        context = snap.context if snap else ""
        verdict_reason = snap.verdict.reason if snap else ""
        verb = "status" if rolled_back else "rollback"
        return Message(
            key=key or f"{event.rollout}|{name}|{event.t:.3f}",
            rollout=event.rollout,
            namespace=snap.namespace if snap else "",
            context=context,
            event=name,
            title=one_line(title, 200),
            text=one_line(event.text, 1500),
            reason=one_line(reason or verdict_reason, 1000),
            level=event.level.value,
            time=event.t,
            numbers=numbers_of(snap),
            command=act_command(event.rollout, context, verb),
            who=one_line(who, 200),
            topics=topics,
            clears=clears,
        )


_VERBS = {
    ActionKind.ROLLBACK: "rolled back",
    ActionKind.PROMOTE: "promoted",
    ActionKind.ADVANCE: "advanced",
    ActionKind.PAUSE: "paused",
    ActionKind.RESUME: "resumed",
    ActionKind.SET_WEIGHT: "set to a new weight",
    ActionKind.TOGGLE_FLAG: "had a flag toggled",
}
