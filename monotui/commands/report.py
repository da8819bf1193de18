"""`monotui report --rollout NAME [--from T --to T] [-o FILE] [--text]`: a postmortem draft in
Markdown from the audit log and the Prometheus history of the window, with charts as SVG files
beside FILE (or inline text charts with --text, or when printing to stdout). Writes nothing else.

The window defaults to the rollout's audit records of the last day (from 10 minutes before the
first to 10 minutes after the last, at most now); without records, the last hour.

Exit codes: 0 written; 2 bad arguments (an -o that cannot be written among them); 5 Prometheus
unreachable.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from monotui.commands.common import add_common, add_rollout, load_config
from monotui.errors import ConfigError
from monotui.outside_text import literal
from monotui.sources.base import MetricsSource

MARGIN_S = 600.0
LOOKBACK_S = 86_400.0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report", help="a postmortem draft (Markdown) from the audit log and Prometheus"
    )
    add_common(p)
    add_rollout(p, required=True)
    p.add_argument("--from", dest="start", help="RFC 3339, now, or -2h (default: see --help)")
    p.add_argument("--to", dest="end", help="RFC 3339, now, or -30m (default: see --help)")
    p.add_argument("-o", "--output", type=Path, help="write the Markdown here (SVGs beside it)")
    p.add_argument("--text", action="store_true", help="inline text charts instead of SVG files")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from monotui.audit import default_path
    from monotui.registry import PRODUCTION, BuildContext
    from monotui.report import charts, gather, markdown
    from monotui.report.analysis import analyse

    cfg = load_config(args)
    rollout = cfg.rollout(args.rollout)
    output: Path | None = args.output
    if output is not None and not output.parent.is_dir():  # said now, not after the queries
        raise ConfigError(
            f"cannot write the report to {literal(output)}: no folder {literal(output.parent)}"
        )
    audit_path = cfg.audit.path or default_path()
    now = time.time()
    start, end = _window(args, audit_path, rollout.name, now)
    recs = gather.records(audit_path, rollout.name, start, end)
    ctx = BuildContext(cfg, context=args.context, read_only=True, clock=lambda: end)
    source = PRODUCTION.get("metrics", rollout.metrics.kind).build(rollout.metrics, rollout, ctx)
    if not isinstance(source, MetricsSource):
        raise ConfigError(f"rollout {args.rollout} has no metrics source to report from")
    try:
        samples, _ = gather.history(source, start, end, rollout.interval_s)
    finally:
        source.close()
        ctx.close()
    findings = analyse(rollout, samples, recs, start, end)
    try:
        shown = charts.build(findings, output, text=args.text)
        document = markdown.render(findings, shown)
        if output is None:
            sys.stdout.write(document)
            return 0
        output.write_text(document, encoding="utf-8")
    except OSError as exc:
        if output is None:
            raise  # standard output: the command line's own handling
        raise ConfigError(
            f"cannot write the report to {literal(output)}: {exc.strerror or exc}"
        ) from None
    print(f"monotui: wrote {output}" + ("" if args.text else " and its charts beside it"))
    return 0


def _window(args: argparse.Namespace, audit: Path, rollout: str, now: float) -> tuple[float, float]:
    from monotui.report.gather import records
    from monotui.status import iso
    from monotui.timespec import moment

    try:
        start = moment(args.start, now) if args.start else None
        end = moment(args.end, now) if args.end else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if start is None or end is None:
        seen = records(audit, rollout, (start or now - LOOKBACK_S), (end or now))
        if seen:
            start = start if start is not None else seen[0].t - MARGIN_S
            end = end if end is not None else min(now, seen[-1].t + MARGIN_S)
        else:
            end = end if end is not None else now
            start = start if start is not None else end - 3600.0
    if not start < end:
        raise ConfigError(f"--from ({iso(start)}) must be before --to ({iso(end)})")
    return start, end
