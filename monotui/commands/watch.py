"""`monotui` / `monotui watch`: the cockpit against the configured cluster."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from monotui import collector
from monotui.commands.common import Session, add_common, add_terminal, session, terminal

if TYPE_CHECKING:
    from monotui.autopilot.window import LeaseWindows


def register(sub: Any) -> None:
    p = sub.add_parser("watch", help="the cockpit against the configured cluster (default)")
    add_common(p)
    add_terminal(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """The TUI; the rollouts are built before the app so a bad config is one line, exit 2.
    Where the rollouts live in Kubernetes, the cockpit follows their autopilot Leases: it shows
    the holder and defers its own automation to a live one (monotui.autopilot.window), through
    the session's informers of each cluster (nothing sent per poll at steady state). Routes are
    read from one list+watch per kind and namespace, and a fleet may span clusters
    (monotui.clusters): each gets its badge colour. A terminal that cannot show the cockpit is
    refused before anything is read."""
    drawing = terminal(args)
    with collector.held():  # the modules, the client and the rollouts live as long as the cockpit
        built = session(args, shared_reads=True)
        from monotui.app import run_app
        from monotui.clusters import badges
        from monotui.notify.attach import attach
    ctx = built.context

    try:
        told = attach(built.config.notify, built.rollouts, built.bus)
    except BaseException:
        built.close()
        raise
    windows = lease_windows(built)

    def close() -> None:
        told.close()
        for window in windows:
            window.close()
        ctx.close()

    return run_app(
        built.rollouts,
        title="monotui",
        close=close,
        notes=built.loaded.notes,
        inferred=built.loaded.sources,
        badges={b.name: b.color for b in badges(built.config)},
        terminal=drawing,
    )


def lease_windows(built: Session) -> list[LeaseWindows]:
    """The session's windows onto its autopilot Leases, started: one set per cluster, on that
    cluster's connection and informers (the Leases of a rollout live where its route does)."""
    from monotui.autopilot.window import LeaseWindows, by_cluster

    ctx = built.context
    return [
        LeaseWindows(members, ctx.kube(cluster), informers=ctx.informers(cluster)).start()
        for cluster, members in by_cluster(built.rollouts).items()
        if cluster is not None or ctx.kube_context  # a route was built on the one context
    ]
