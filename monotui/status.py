"""Snapshots as data for `monotui status --json`, and as one line of text for people and scripts."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from monotui.model import Pair, Snapshot
from monotui.outside_text import literal


def snapshot_to_dict(snap: Snapshot) -> dict[str, Any]:
    """The `status --json` shape of DESIGN.md: error rates as fractions, weights in percent."""
    latest = snap.latest  # a failed poll is a gap: reported as NO DATA, not as older data
    split = snap.observed_split
    return {
        "name": snap.rollout,
        "namespace": snap.namespace,
        "context": snap.context,
        "backend": snap.backend,
        "phase": snap.phase.value,
        "paused": snap.plan.paused,
        "policy": snap.policy,
        "read_only": snap.read_only,
        "weights": (
            {"stable": snap.weights.stable, "canary": snap.weights.canary} if snap.weights else None
        ),
        "observed_split": (
            {"stable": round(split.stable, 3), "canary": round(split.canary, 3)} if split else None
        ),
        "error_rate": _pair(latest.error_rate if latest else Pair()),
        "latency_p99_ms": _pair(latest.latency_p99_ms if latest else Pair()),
        "request_rate": _pair(latest.request_rate if latest else Pair()),
        "verdict": {
            "result": snap.verdict.result.value,
            "score": snap.verdict.score,
            "reason": snap.verdict.reason,
            "metrics": [
                {
                    "name": m.name,
                    "label": m.label.value,
                    "baseline": _num(m.baseline),
                    "canary": _num(m.canary),
                    "p_value": _num(m.p_value),
                    "effect": _num(m.effect),
                    "n_baseline": m.n_baseline,
                    "n_canary": m.n_canary,
                    "critical": m.critical,
                }
                for m in snap.verdict.metrics
            ],
        },
        "step": {"index": snap.plan.index, "of": len(snap.plan.steps)},
        "steps": list(snap.plan.steps),
        "next_action": snap.next_action,
        "flags": [
            {
                "key": f.key,
                "state": f.state,
                "default_variant": f.default_variant,
                "value": f.value,
                "targeting": f.targeting,
                "reason": f.reason,
                "error": f.error,
            }
            for f in snap.flags
        ],
        "sources": {
            s.name: {"state": s.state.value, "message": s.message, "age_s": _num(s.age_s)}
            for s in snap.sources
        },
        "data_time": iso(latest.t) if latest else None,
    }


def _pair(pair: Pair) -> dict[str, float | None]:
    return {"baseline": _num(pair.baseline), "canary": _num(pair.canary)}


def _num(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return value


def iso(t: float) -> str:
    """A POSIX time as ISO 8601 UTC to the second."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary_line(snap: Snapshot) -> str:
    """One human line per rollout for `monotui status`."""
    weights = str(snap.weights) if snap.weights else "?"
    latest = snap.latest
    rates = latest.error_rate if latest else Pair()
    problems = [
        f"{literal(s.name)} {s.state.value}: {literal(s.message, max_len=300)}"
        for s in snap.sources
        if s.state != "ok"
    ]
    tail = f"  [{'; '.join(problems)}]" if problems else ""
    # Names and messages are outside text (a rollout's name, an API server's error): literal.
    return (
        f"{literal(snap.rollout):<16} {literal(snap.namespace):<12} {snap.phase.value:<11} "
        f"weights={weights:<7} errors={_pct(rates.baseline)}/{_pct(rates.canary)} "
        f"verdict={snap.verdict.result.value} ({literal(snap.verdict.reason, max_len=300)}){tail}"
    )


def _pct(value: float | None) -> str:
    return "NODATA" if value is None or math.isnan(value) else f"{value:.2%}"
