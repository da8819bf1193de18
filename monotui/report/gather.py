"""What the report is made of: the rollout's audit records in the window, and the metrics
history of the window (one sample per poll interval, as `backtest` reads it)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monotui.audit import read_audit
from monotui.model import Sample
from monotui.outside_text import literal
from monotui.sources.base import MetricsSource

MAX_POINTS = 11_000
"""A Prometheus range query answers at most this many points per series."""
WARMUP_POLLS = 60
"""Polls before the window: the judge's over-dispersion estimate starts from them."""


@dataclass(frozen=True, slots=True)
class Record:
    """One action of the audit log, as the report tells it."""

    t: float
    action: str
    who: str
    """"alice (key)", "automation"."""
    result: str
    before: str
    after: str
    reason: str
    message: str
    context: str
    namespace: str

    @property
    def applied(self) -> bool:
        return self.result == "ok"


def records(path: Path, rollout: str, start: float, end: float) -> list[Record]:
    """The rollout's actions with intent times in [start, end], oldest first (a missing log is
    no actions)."""
    if not path.exists():
        return []
    out = []
    for entry in read_audit(path):
        if entry.get("rollout") != rollout or entry.get("dry_run"):
            continue
        t = _time(entry.get("time"))
        if t is None or not start <= t <= end:
            continue
        out.append(_record(entry, t))
    return sorted(out, key=lambda r: r.t)


def history(
    source: MetricsSource, start: float, end: float, interval_s: float
) -> tuple[tuple[Sample, ...], float]:
    """The samples from a little before `start` to `end` (the source's clock ends at `end`)
    and the interval they are at (wider than `interval_s` for a very long window)."""
    interval = interval_s
    points = int((end - start) / interval) + 1 + WARMUP_POLLS
    if points > MAX_POINTS:
        interval = (end - start) / (MAX_POINTS - WARMUP_POLLS)
        points = MAX_POINTS
    return source.history(interval * points, points), interval


def _record(entry: dict[str, Any], t: float) -> Record:
    origin = str(entry.get("origin") or "")
    user = str(entry.get("kube_user") or entry.get("user") or "")
    who = "automation" if origin == "automation" else f"{user} ({origin})" if origin else user
    return Record(
        t=t,
        action=str(entry.get("action") or ""),
        who=literal(who, max_len=200),
        result=str(entry.get("result") or ""),
        before=str(entry.get("before") or ""),
        after=str(entry.get("after") or ""),
        reason=literal(entry.get("reason") or "", max_len=500),
        message=literal(entry.get("message") or "", max_len=500),
        context=literal(entry.get("context") or "", max_len=100),
        namespace=literal(entry.get("namespace") or "", max_len=100),
    )


def _time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return stamp if math.isfinite(stamp) else None


def iter_window(samples: tuple[Sample, ...], start: float, end: float) -> Iterator[Sample]:
    """The samples whose poll ends in [start, end]."""
    return (s for s in samples if start <= s.t <= end)
