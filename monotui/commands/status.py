"""`monotui status`: one observation of every (or one) rollout, then exit. It only observes:
no automation runs and nothing is written."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from monotui.commands.common import add_common, add_rollout, session
from monotui.model import SourceState
from monotui.outside_text import literal


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="one snapshot of every (or one) rollout, then exit")
    add_common(p)
    add_rollout(p)
    p.add_argument("--json", action="store_true", help='print {"rollouts": [...]}')
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from monotui.status import snapshot_to_dict, summary_line

    built = session(args, only=args.rollout, policy="manual")
    try:
        snapshots = [rollout.observer.observe() for rollout in built.rollouts]
    finally:
        built.close()
    if args.json:
        print(json.dumps({"rollouts": [snapshot_to_dict(s) for s in snapshots]}, indent=2))
    else:
        for snap in snapshots:
            print(summary_line(snap))
    # The snapshot is printed either way; a source in ERROR makes the exit code say so too.
    failed = [src for snap in snapshots for src in snap.sources if src.state == SourceState.ERROR]
    for src in failed:
        print(f"monotui: {literal(src.name)}: {literal(src.message, max_len=600)}", file=sys.stderr)
    return failed[0].exit_code or 1 if failed else 0
