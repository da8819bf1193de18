"""`monotui status`: one observation of every (or one) rollout, then exit. It only observes:
no automation runs and nothing is written."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from typing import Any

from monotui.commands.common import GuardedStdout, add_common, add_rollout, session
from monotui.json_text import indented
from monotui.model import SourceState
from monotui.outside_text import literal

Command = Callable[[argparse.Namespace], int]


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="one snapshot of every (or one) rollout, then exit")
    add_common(p)
    add_rollout(p)
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"rollouts": [...]}, each with "source": how discovery inferred its settings',
    )
    p.add_argument(
        "--window",
        type=window,
        metavar="DURATION",
        help="judge from this much history, e.g. 30m (default: [rollouts.metrics] history_s)",
    )
    p.set_defaults(run=without_collector(run))


def without_collector(command: Command) -> Command:
    """`command` with the cycle collector off while it runs: one pass over a fleet's history
    makes millions of short-lived objects, all freed by their reference counts, that the
    collector walked again and again (a tenth of `status` at N=300, for no memory back)."""

    def run_without_collector(args: argparse.Namespace) -> int:
        was_on = gc.isenabled()
        gc.disable()
        try:
            return command(args)
        finally:
            if was_on:
                gc.enable()

    return run_without_collector


def window(text: str) -> float:
    from monotui.timespec import duration_s

    try:
        return duration_s(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from monotui.rollout.reading import conclude_together
    from monotui.status import snapshot_to_dict, summary_line

    # A fleet reads its routes from one list per kind and namespace, not a GET each, and its
    # histories are asked for while the routers connect.
    built = session(
        args,
        only=args.rollout,
        policy="manual",
        shared_reads=args.rollout is None,
        follow_reads=False,  # one reading: a list per kind, no watch
        history_ahead=args.window or 0.0,
    )
    try:
        # One range query per count over the window gives the judge its evidence in one shot,
        # and the whole fleet's evidence is advanced in one batch per poll of it.
        readings = [
            (r.observer, r.observer.read_start(history=True, watch=False, span_s=args.window))
            for r in built.rollouts
        ]
        snapshots = conclude_together(readings)
    finally:
        built.close()
    for note in built.loaded.notes:
        print(f"monotui: {note}", file=sys.stderr)
    out = GuardedStdout()  # `status | head`: the sources that failed still say so below
    if args.json:
        sources = built.loaded.sources
        rollouts = [snapshot_to_dict(s) | {"source": sources.get(s.rollout, {})} for s in snapshots]
        print(indented({"rollouts": rollouts}), file=out)
    else:
        for snap in snapshots:
            print(summary_line(snap), file=out)
    # The snapshot is printed either way; a source in ERROR makes the exit code say so too.
    failed = [src for snap in snapshots for src in snap.sources if src.state == SourceState.ERROR]
    for src in failed:
        print(f"monotui: {literal(src.name)}: {literal(src.message, max_len=600)}", file=sys.stderr)
    return failed[0].exit_code or 1 if failed else out.lost or 0
