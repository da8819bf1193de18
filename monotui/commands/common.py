"""What the commands share: the common options, loading the configuration, and a session (the
rollouts of the configuration, built by their kinds, with the audit log and the event bus)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monotui.commands import configure
from monotui.commands.configure import Loaded

if TYPE_CHECKING:
    from monotui.config import Config
    from monotui.events import EventBus
    from monotui.registry import BuildContext
    from monotui.rollout import Rollout
    from monotui.terminal import Terminal

COMMON = (
    "config",
    "context",
    "namespace",
    "all_namespaces",
    "discover",
    "prometheus",
    "read_only",
    "dry_run",
    "ascii",
    "mouse",
)
FLAGS = ("read_only", "dry_run", "all_namespaces", "discover", "ascii", "mouse")


def add_common(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """-c, --context, -n/--namespace, -A, --discover, --prometheus, --read-only, --dry-run. On a
    subcommand they default to SUPPRESS, so `monotui -c FILE watch` and `monotui watch -c FILE`
    mean the same."""
    value: Any = None if top else argparse.SUPPRESS
    flag: Any = False if top else argparse.SUPPRESS
    p.add_argument(
        "-c",
        "--config",
        type=Path,
        default=value,
        help="monotui.toml (default: ./monotui.toml, then $XDG_CONFIG_HOME/monotui/config.toml)",
    )
    p.add_argument("--context", default=value, help="kubeconfig context (default: the current one)")
    p.add_argument(
        "-n",
        "--namespace",
        default=value,
        help="with a config file: the namespace of its rollouts; with discovery: where to look "
        "(default: the context's namespace)",
    )
    p.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        default=flag,
        help="discover rollouts in every namespace (implies --discover)",
    )
    p.add_argument(
        "--discover",
        action="store_true",
        default=flag,
        help="find the rollouts in the cluster, the config file overriding what is found "
        "(the default without a config file)",
    )
    p.add_argument(
        "--prometheus",
        metavar="URL",
        default=value,
        help="the Prometheus to ask (wins over [prometheus] url; default with discovery: "
        "found through the API server's service proxy)",
    )
    p.add_argument(
        "--read-only", action="store_true", default=flag, help="make every write impossible"
    )
    p.add_argument(
        "--dry-run", action="store_true", default=flag, help="print the patch, send nothing"
    )


def add_terminal(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--ascii and --mouse, for the commands that open the cockpit (SUPPRESS on a subcommand,
    like add_common)."""
    flag: Any = False if top else argparse.SUPPRESS
    p.add_argument(
        "--ascii",
        action="store_true",
        default=flag,
        help="draw with ASCII only (automatic for TERM=linux or vt100, or a locale without "
        "UTF-8; MONOTUI_ASCII=1 too)",
    )
    p.add_argument(
        "--mouse",
        action="store_true",
        default=flag,
        help="track the mouse even over ssh (off there by default, so plain selection and copy "
        "work; MONOTUI_MOUSE=on/off too)",
    )


def terminal(args: argparse.Namespace, plain: str = "monotui status") -> Terminal:
    """How the cockpit draws here; a terminal that cannot show it (TERM=dumb, no terminal) is
    refused with TerminalError (exit 2) naming `plain`, the command that shows it as text."""
    from monotui.terminal import settle

    return settle(ascii=bool(args.ascii), mouse=bool(args.mouse), plain=plain)


def add_rollout(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    p.add_argument("--rollout", required=required, help="the rollout's name")


def with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The common options present on `args` whichever parser set them."""
    for name in COMMON:
        if not hasattr(args, name):
            setattr(args, name, False if name in FLAGS else None)
    return args


def load_config(args: argparse.Namespace) -> Config:
    """The configuration (file, discovery, or both), validated against the production kinds."""
    return configure.load(args).config


TOKEN_MAX_BYTES = 64 * 1024


def secrets_of(cfg: Config) -> list[str]:
    """What must never be written anywhere (the audit log, annotations): the Prometheus bearer
    token and header values, and every flag source's header values."""
    found = list(cfg.prometheus.headers.values())
    token_file = cfg.prometheus.bearer_token_file
    if token_file is not None:
        try:
            with token_file.open("rb") as f:
                token = f.read(TOKEN_MAX_BYTES).decode("utf-8", "replace").strip()
        except OSError:
            token = ""  # the metrics source says why it cannot read it
        if token:
            found.append(token)
    for rollout in cfg.rollouts:
        headers = getattr(rollout.flags, "headers", None)
        if isinstance(headers, dict):
            found.extend(str(v) for v in headers.values())
    # A header value like "Bearer xyz": the credential alone is as secret as the whole.
    found += [v.partition(" ")[2] for v in found if " " in v]
    return [s for s in dict.fromkeys(found) if len(s) >= 4]


@dataclass
class Session:
    """The rollouts one command works on, and what they share."""

    config: Config
    rollouts: list[Rollout]
    context: BuildContext
    bus: EventBus
    loaded: Loaded
    """Where the configuration came from: provenance per rollout and notes for the user."""

    def close(self) -> None:
        for rollout in self.rollouts:
            rollout.close()
        self.context.close()


def session(
    args: argparse.Namespace,
    *,
    only: str | None = None,
    policy: str | None = None,
    clock: Callable[[], float] | None = None,
    shared_reads: bool = False,
    follow_reads: bool = True,
    history_ahead: float | None = None,
) -> Session:
    """Build the configured rollouts (or `only` that one) with their sources.

    `shared_reads`: routers read from one list+watch per kind and namespace (a fleet's `watch`
    and `status`), not a GET each; `follow_reads` False lists them once without a watch (a
    one-shot command). Several `--context`s (or `[[clusters]]`) make one fleet
    across clusters (monotui.clusters). `history_ahead`: see `build_rollouts`."""
    import time

    from monotui import clusters
    from monotui.audit import AuditLog, default_path
    from monotui.events import EventBus
    from monotui.registry import PRODUCTION, BuildContext
    from monotui.rollout import build_rollouts

    loaded = configure.load(args)
    cfg, context = clusters.for_session(loaded.config, args.context)
    ctx = BuildContext(
        cfg,
        context=context,
        read_only=args.read_only,
        shared_reads=shared_reads,
        follow_reads=follow_reads,
        _kube=loaded.kube,
    )
    bus = EventBus()
    audit = AuditLog(cfg.audit.path or default_path(), secrets=secrets_of(cfg))
    try:
        rollouts = build_rollouts(
            cfg,
            PRODUCTION,
            ctx,
            audit=audit,
            bus=bus,
            clock=clock or time.time,
            dry_run=args.dry_run,
            policy=policy,
            only=only,
            history_ahead=history_ahead,
        )
    except BaseException:
        ctx.close()
        raise
    ctx.start_reads()  # the routes' lists are answered while the rest gets ready
    return Session(cfg, rollouts, ctx, bus, loaded)


def reader_gone() -> None:
    """Standard output's reader went away (`monotui status | head`): what is still written to
    it goes nowhere, and the exit's flush cannot fail with a second error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def output_failed(exc: OSError) -> int | None:
    """A write to standard output failed: None when its reader went away (the command's own
    exit code stands), else 1, said in one line (a full disk: the output is lost). Either way,
    what is still written goes nowhere."""
    reader_gone()
    if isinstance(exc, BrokenPipeError):
        return None
    print(f"monotui: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
    return 1


class GuardedStdout:
    """Standard output for a command whose exit code says more than its lines: a write that
    fails (the reader went away, a full disk) is said once (`output_failed`) and the rest goes
    nowhere, so the command runs to its end and its exit code stands (`lost`: the code of the
    failed write itself)."""

    def __init__(self) -> None:
        self.failed = False
        self.lost: int | None = None

    def write(self, text: str, /) -> int:
        if not self.failed:
            try:
                sys.stdout.write(text)
                sys.stdout.flush()  # a line at a time: a failure is found at the line that failed
            except OSError as exc:
                self.failed = True
                self.lost = output_failed(exc)
        return len(text)
