"""`monotui check-config`: validate the file, reach every backend once, report."""

from __future__ import annotations

import argparse
from typing import Any

from monotui.commands import configure
from monotui.commands.common import GuardedStdout, add_common
from monotui.outside_text import literal


def register(sub: Any) -> None:
    p = sub.add_parser("check-config", help="validate the file, reach every backend, report")
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from monotui import clusters
    from monotui.check import check_config

    loaded = configure.load(args)
    if loaded.kube is not None:
        loaded.kube.close()  # check_config makes its own connection, as a session would
    # `check-config | head` still checks everything, and its exit code says how it went.
    out = GuardedStdout()
    for note in loaded.notes:
        print(literal(note), file=out)
    # Several --contexts (or [[clusters]]): every rollout checked in each of its clusters.
    config, context = clusters.for_session(loaded.config, args.context)
    worst = check_config(config, context=context, out=out, read_only=args.read_only)
    return worst or out.lost or 0
