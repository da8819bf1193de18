"""`monotui discover`: what discovery finds in the cluster, printed as a monotui.toml to start
from (each inferred value with a comment saying where it came from) or as JSON. It only reads."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from monotui.commands import configure
from monotui.commands.common import GuardedStdout, add_common


def register(sub: Any) -> None:
    p = sub.add_parser(
        "discover", help="find the rollouts in the cluster; print them as a monotui.toml"
    )
    add_common(p)
    p.add_argument(
        "-o",
        "--output",
        choices=("toml", "json"),
        default="toml",
        help="toml: a config file to start from, commented (default); json: the same as JSON",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from monotui.sources.discovery import to_json, to_toml

    # The default config file is not merged in: this prints what the cluster says (-c merges).
    loaded = configure.load(args, force_discovery=True, default_file=False)
    if loaded.kube is not None:
        loaded.kube.close()
    assert loaded.discovery is not None  # force_discovery
    context = loaded.kube.context if loaded.kube is not None else ""
    if args.output == "json":
        text = to_json(
            loaded.tables,
            loaded.sources,
            discovery=loaded.discovery,
            prometheus=loaded.prometheus,
            finding=loaded.finding,
            context=context,
        )
    else:
        text = to_toml(
            loaded.tables,
            loaded.sources,
            discovery=loaded.discovery,
            prometheus=loaded.prometheus,
            finding=loaded.finding,
            inferred_metrics=loaded.inferred_metrics,
            context=f"context {context}",
        )
    # `discover > monotui.toml` on a full disk: one line and exit 1, not a half file said fine.
    out = GuardedStdout()
    out.write(text if text.endswith("\n") else text + "\n")
    for note in loaded.notes:
        print(f"monotui: {note}", file=sys.stderr)
    return out.lost or 0
