"""`monotui check-config`: validate the file, reach every backend once, report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from monotui.commands.common import add_common, load_config


def register(sub: Any) -> None:
    p = sub.add_parser("check-config", help="validate the file, reach every backend, report")
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from monotui.check import check_config

    return check_config(
        load_config(args), context=args.context, out=sys.stdout, read_only=args.read_only
    )
