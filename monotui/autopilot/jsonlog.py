"""One JSON line per event on stdout: what the autopilot saw and did, for `kubectl logs` and log
pipelines. Outside text (route annotations, error messages, flag keys) stays data: every string
is JSON-escaped and the line is ASCII, so no control character reaches a terminal or a parser
raw (JSON leaves DEL alone: it is escaped here too)."""

from __future__ import annotations

import json
import math
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from monotui.model import (
    ActionEvent,
    AutomationPaused,
    Event,
    LeadershipChanged,
    OutsideChange,
    SourceFailed,
    SourceRecovered,
    VerdictChanged,
)


def iso(t: float) -> str:
    """POSIX seconds as UTC ISO 8601 with milliseconds."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def facts(event: Event) -> dict[str, Any]:
    """The typed facts behind an event's sentence."""
    if isinstance(event, ActionEvent) and event.result is not None:
        result = event.result
        return {
            "action": result.action.kind.value,
            "origin": result.action.origin,
            "outcome": event.outcome,
            "before": str(result.before) if result.before else None,
            "after": str(result.after) if result.after else None,
            "reason": result.action.reason,
        }
    if isinstance(event, VerdictChanged):
        verdict = event.verdict
        return {
            "before": event.before.value,
            "result": verdict.result.value if verdict else None,
            "score": verdict.score if verdict else None,
        }
    if isinstance(event, OutsideChange):
        return {"what": event.what}
    if isinstance(event, SourceFailed) and event.source is not None:
        return {"source": event.source.name, "state": event.source.state.value}
    if isinstance(event, SourceRecovered):
        return {"source": event.source}
    if isinstance(event, AutomationPaused):
        return {"paused": event.paused, "by": event.by}
    if isinstance(event, LeadershipChanged):
        return {"leading": event.leading, "holder": event.holder, "lease": event.lease}
    return {}


def line(record: dict[str, Any]) -> str:
    """One line of ASCII JSON; floats that are not finite become null."""
    clean = {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()
    }
    text = json.dumps(clean, ensure_ascii=True, default=str, allow_nan=False)
    return text.replace("\x7f", "\\u007f")


class JsonLog:
    """Writes events (an EventBus subscriber) and the process's own notes to `out`."""

    def __init__(self, out: TextIO, identity: str) -> None:
        self.out = out
        self.identity = identity
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        record = {
            "time": iso(event.t),
            "identity": self.identity,
            "rollout": event.rollout,
            "event": type(event).__name__,
            "kind": event.kind,
            "level": event.level.value,
            "text": event.text,
            **facts(event),
        }
        self._write(record)

    def note(self, t: float, text: str, level: str = "info", **more: Any) -> None:
        """A line about the process, not one rollout (started, listening, stopped)."""
        record = {"time": iso(t), "identity": self.identity, "rollout": "", "event": "Autopilot"}
        self._write({**record, "kind": "info", "level": level, "text": text, **more})

    def _write(self, record: dict[str, Any]) -> None:
        text = line(record) + "\n"
        with self._lock:
            self.out.write(text)
            self.out.flush()
