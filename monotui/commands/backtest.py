"""`monotui backtest --rollout NAME --from T --to T`: what the judge and the policy would have
done over a stretch of Prometheus history, at the rollout's interval, without touching anything.

Exit codes: 0 it ran; 2 bad arguments; 5 Prometheus unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from monotui.commands.common import add_common, add_rollout, load_config
from monotui.errors import ConfigError
from monotui.sources.base import MetricsSource

WARMUP_POLLS = 60
"""Polls of history before --from: they seed the judge's over-dispersion estimate."""
MAX_POINTS = 11_000
"""A Prometheus range query answers at most this many points per series."""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "backtest",
        help="replay the judge and the policy over Prometheus history (writes nothing)",
    )
    add_common(p)
    add_rollout(p, required=True)
    p.add_argument("--from", dest="start", required=True, help="RFC 3339, now, or -2h")
    p.add_argument("--to", dest="end", default="now", help="RFC 3339, now, or -30m (default now)")
    p.add_argument("--json", action="store_true", help="print the decisions and summary as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from monotui.backtest import replay
    from monotui.outside_text import literal
    from monotui.registry import PRODUCTION, BuildContext
    from monotui.status import iso
    from monotui.timespec import moment

    now = time.time()
    try:
        start, end = moment(args.start, now), moment(args.end, now)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not start < end:
        raise ConfigError(f"--from ({iso(start)}) must be before --to ({iso(end)})")
    cfg = load_config(args)
    rollout = cfg.rollout(args.rollout)
    ctx = BuildContext(cfg, context=args.context, read_only=True, clock=lambda: end)
    source = PRODUCTION.get("metrics", rollout.metrics.kind).build(rollout.metrics, rollout, ctx)
    if not isinstance(source, MetricsSource):
        raise ConfigError(f"rollout {args.rollout} has no metrics source to replay")
    interval = rollout.interval_s
    points = int((end - start) / interval) + 1 + WARMUP_POLLS
    if points > MAX_POINTS:
        interval = (end - start) / (MAX_POINTS - WARMUP_POLLS)
        points = MAX_POINTS
        print(
            f"monotui: the span holds more than {MAX_POINTS} polls; replaying every "
            f"{interval:.0f}s instead of every {rollout.interval_s:g}s",
            file=sys.stderr,
        )
    try:
        samples = source.history(interval * points, points)
    finally:
        source.close()
        ctx.close()
    summary = replay(rollout, samples, start=start, end=end)
    if args.json:
        print(json.dumps(_as_json(summary, iso), indent=2))
        return 0
    for d in summary.decisions:
        share = "-" if d.canary_share is None else f"{d.canary_share:.1f}%"
        action = d.action or "-"
        print(
            f"{iso(d.t)} share={share} step={d.step_pct}% verdict={d.verdict.result.value} "
            f"action={action} {literal(d.reason, max_len=400)}"
        )
    if summary.rolled_back_at is not None:
        print(
            f"would have rolled back at {iso(summary.rolled_back_at)}, "
            f"{summary.rolled_back_at - start:.0f}s after --from, after the canary served "
            f"{summary.bad_served:,.0f} 5xx"
        )
    else:
        print(
            f"would not have rolled back in {summary.polls} polls; the canary served "
            f"{summary.bad_served:,.0f} 5xx"
        )
    return 0


def _as_json(summary: Any, iso: Any) -> dict[str, Any]:
    return {
        "polls": summary.polls,
        "rolled_back": summary.rolled_back_at is not None,
        "rolled_back_at": iso(summary.rolled_back_at) if summary.rolled_back_at else None,
        "bad_requests_before": summary.bad_served,
        "first_evidence_at": iso(summary.first_evidence_at) if summary.first_evidence_at else None,
        "decisions": [
            {
                "time": iso(d.t),
                "canary_share": d.canary_share,
                "step": d.step_pct,
                "verdict": d.verdict.result.value,
                "action": d.action or None,
                "reason": d.reason,
            }
            for d in summary.decisions
        ],
    }
