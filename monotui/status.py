"""Snapshots as data for `monotui status --json`, and as one line of text for people and scripts."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from monotui.model import Evidence, MetricVerdict, Pair, Snapshot
from monotui.model.impact import impact_of
from monotui.outside_text import literal


def snapshot_to_dict(snap: Snapshot) -> dict[str, Any]:
    """The `status --json` shape of DESIGN.md: error rates as fractions, weights in percent; the
    current values are pooled over the metrics window, NO DATA (null) after a failed poll."""
    latest = snap.latest
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
        "split_disagreement": (
            {"configured_canary": d.configured, "observed_canary": round(d.observed, 3)}
            if (d := snap.split_disagreement)
            else None
        ),
        "error_rate": _pair(snap.current("error_rate")),
        "latency_p99_ms": _pair(snap.current("latency_p99_ms")),
        "request_rate": _pair(snap.request_rate),
        "verdict": {
            "result": snap.verdict.result.value,
            "score": _num(snap.verdict.score),
            "reason": snap.verdict.reason,
            "incident": snap.verdict.incident,
            "canary_requests": _num(snap.verdict.canary_requests),
            "metrics": [_metric(m) for m in snap.verdict.metrics],
        },
        "impact": _impact(snap),
        "step": {"index": snap.plan.index, "of": len(snap.plan.steps)},
        "steps": list(snap.plan.steps),
        "hold": {"elapsed_s": _num(snap.hold_elapsed_s), "of_s": _num(snap.hold_s)},
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
        "synthetics": [
            {
                "name": c.probe,
                "track": c.track,
                "state": c.state.value,
                "reason": c.reason or c.last_failure,
                "latency_ms": _num(c.latency_ms),
            }
            for c in snap.synthetics.cells
        ],
    }


def _impact(snap: Snapshot) -> dict[str, Any]:
    """The bad requests the canary served beyond the baseline's rate, since it started."""
    impact = impact_of(snap)
    return {
        "since": iso(impact.since) if impact.since is not None else None,
        "excess_bad": {h.what: _num(h.excess) for h in impact.harms},
        "bad_served": {h.what: _num(h.served) for h in impact.harms},
        "canary_requests": _num(impact.harms[0].canary_requests) if impact.harms else None,
    }


def _metric(m: MetricVerdict) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": m.name,
        "label": m.label.value,
        "baseline": _num(m.baseline),
        "canary": _num(m.canary),
        "p_value": _num(m.p_value),
        "effect": _num(m.effect),
        "n_baseline": m.n_baseline,
        "n_canary": m.n_canary,
        "critical": m.critical,
        "both_failing": m.both_failing,
        "sentence": m.sentence,
    }
    if m.evidence is not None:
        out["evidence"] = _evidence(m.evidence)
    return out


def _evidence(e: Evidence) -> dict[str, Any]:
    return {
        "e_value": _num(e.e_value),
        "rolls_back_at": _num(e.limit),
        "ratio": _num(e.ratio),
        "ci": {"low": _num(e.ci_low), "high": _num(e.ci_high)},
        "step": {
            "canary_requests": _num(e.canary_requests),
            "canary_bad": _num(e.canary_bad),
            "baseline_requests": _num(e.baseline_requests),
            "baseline_bad": _num(e.baseline_bad),
        },
        "since_canary_started": {
            "canary_requests": _num(e.run_canary_requests),
            "canary_bad": _num(e.run_canary_bad),
            "excess_bad": _num(e.excess_bad),
        },
        "dispersion": _num(e.dispersion),
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
    rates = snap.current("error_rate")
    problems = [
        f"{literal(s.name)} {s.state.value}: {literal(s.message, max_len=300)}"
        for s in snap.sources
        if s.state != "ok"
    ]
    # A verdict of NO DATA for a broken source already gives that source's error as its reason.
    shown = literal(snap.verdict.reason, max_len=300)
    problems = [p for p in problems if p != shown]
    disagreement = snap.split_disagreement
    if disagreement is not None:
        problems.insert(0, f"WARNING {disagreement.text}")
    tail = f"  [{'; '.join(problems)}]" if problems else ""
    # Names and messages are outside text (a rollout's name, an API server's error): literal.
    return (
        f"{literal(snap.rollout):<16} {literal(snap.namespace):<12} {snap.phase.value:<11} "
        f"weights={weights:<7} errors={_pct(rates.baseline)}/{_pct(rates.canary)} "
        f"verdict={snap.verdict.result.value} ({shown}){tail}"
    )


def _pct(value: float | None) -> str:
    return "NODATA" if value is None or math.isnan(value) else f"{value:.2%}"
