"""`monotui autopilot`: no TUI; runs every configured rollout's observer, judge, policy and
actuator unattended, each automation behind its rollout's Lease (leader election), logs one JSON
line per event, serves /metrics, /healthz and /readyz, and stops gracefully on SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from typing import Any

from monotui.commands.common import add_common


def register(sub: Any) -> None:
    p = sub.add_parser(
        "autopilot",
        help="unattended judgement in the cluster, leader-elected (one Lease per rollout)",
    )
    add_common(p)  # -c FILE, or discovery (-A, -n NS, --discover) as every command has it
    p.add_argument(
        "--listen",
        default=":8080",
        metavar="[HOST]:PORT",
        help="where /metrics, /healthz and /readyz are served (default :8080; port 0: any free one)",
    )
    p.add_argument(
        "--identity",
        help="the Lease holder's name (default: $POD_NAME, else host name and process id)",
    )
    p.add_argument(
        "--policy",
        choices=("auto", "manual"),
        help="every rollout's policy, over the config's: discovered rollouts are on manual, so "
        "`--discover --policy auto` is how the autopilot steers what it finds",
    )
    p.add_argument(
        "--lease-duration",
        type=int,
        default=15,
        metavar="S",
        help="seconds a standby waits for a silent holder before taking over (default 15)",
    )
    p.add_argument(
        "--renew-deadline",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds the holder keeps acting without a successful renewal (default 10)",
    )
    p.add_argument(
        "--retry-period",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds between renewals and between tries to acquire (default 2)",
    )
    p.set_defaults(run=run)


def default_identity() -> str:
    """$POD_NAME (the downward API), else host name and process id."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


def run(args: argparse.Namespace) -> int:
    from monotui.audit import AuditLog, default_path
    from monotui.autopilot.elector import LeaseTiming
    from monotui.autopilot.endpoints import parse_listen
    from monotui.autopilot.runner import Autopilot, AutopilotOptions
    from monotui.events import EventBus
    from monotui.notify.attach import attach
    from monotui.registry import PRODUCTION, BuildContext
    from monotui.rollout import build_rollouts

    identity = args.identity or default_identity()
    options = AutopilotOptions(
        identity,
        LeaseTiming(args.lease_duration, args.renew_deadline, args.retry_period),
        parse_listen(args.listen),
    )
    from monotui.commands import configure

    loaded = configure.load(args)
    cfg = loaded.config
    ctx = BuildContext(cfg, context=args.context, read_only=args.read_only, _kube=loaded.kube)
    bus = EventBus()
    try:
        audit = AuditLog(cfg.audit.path or default_path(), user=identity)
        rollouts = build_rollouts(
            cfg, PRODUCTION, ctx, audit=audit, bus=bus, dry_run=args.dry_run, policy=args.policy
        )
        pilot = Autopilot(rollouts, ctx, bus, options, out=sys.stdout)
        for note in loaded.notes:  # discovery's (no Prometheus, a forbidden kind): in the log
            pilot.log.note(pilot.wall(), note, level="warning")
        # Only the Lease holder tells chat and the cluster: a standby sees the same events.
        told = attach(cfg.notify, rollouts, bus, only=pilot.leading)
    except BaseException:
        ctx.close()
        raise
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        return pilot.run(stop)
    finally:
        told.close()
