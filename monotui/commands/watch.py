"""`monotui` / `monotui watch`: the cockpit against the configured cluster."""

from __future__ import annotations

import argparse
from typing import Any

from monotui.commands.common import add_common, session


def register(sub: Any) -> None:
    p = sub.add_parser("watch", help="the cockpit against the configured cluster (default)")
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """The TUI; the rollouts are built before the app so a bad config is one line, exit 2."""
    built = session(args)
    from monotui.app import run_app
    from monotui.notify.attach import attach

    try:
        told = attach(built.config.notify, built.rollouts, built.bus)
    except BaseException:
        built.close()
        raise

    def close() -> None:
        told.close()
        built.context.close()

    run_app(built.rollouts, title="monotui", close=close)
    return 0
