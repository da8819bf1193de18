"""`monotui check-config`: validate the file, reach every backend once, report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from monotui.commands import configure
from monotui.commands.common import add_common
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
    for note in loaded.notes:
        print(literal(note), file=sys.stdout)
    # Several --contexts (or [[clusters]]): every rollout checked in each of its clusters.
    config, context = clusters.for_session(loaded.config, args.context)
    return check_config(config, context=context, out=sys.stdout, read_only=args.read_only)
