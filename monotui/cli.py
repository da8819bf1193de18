"""The `monotui` command: the TUI, the demo, and one-shot verbs sharing the controller's code path.

Exit codes: 0 done; 2 usage or config error; 3 conflict; 4 permission denied; 5 backend
unreachable; 1 anything else. Errors are one line on stderr that says what to do.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from monotui.errors import ConfigError, MonotuiError
from monotui.serve import cli as serve_cli
from monotui.sim.scenarios import SCENARIOS

if TYPE_CHECKING:
    from monotui.config import Config
    from monotui.controller import Controller


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _common(p: argparse.ArgumentParser, *, rollout: bool = False, required: bool = False) -> None:
    p.add_argument(
        "-c",
        "--config",
        type=Path,
        help="monotui.toml (default: ./monotui.toml, then $XDG_CONFIG_HOME/monotui/config.toml)",
    )
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--namespace", help="override the namespace of the rollout(s)")
    p.add_argument("--read-only", action="store_true", help="make every write impossible")
    p.add_argument("--dry-run", action="store_true", help="print the patch, send nothing")
    if rollout:
        p.add_argument("--rollout", required=required, help="the rollout's name")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="monotui",
        description="A terminal cockpit for canary rollouts. Without a command: watch.",
        epilog="Config: -c FILE, else ./monotui.toml, else $XDG_CONFIG_HOME/monotui/config.toml. "
        "Exit codes: 0 done, 2 usage or config error, 3 conflict, 4 permission denied, "
        "5 backend unreachable, 1 anything else. Try it without a cluster: monotui demo",
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    demo = sub.add_parser("demo", help="the cockpit on an embedded simulated world (no cluster)")
    demo.add_argument(
        "--scenario",
        choices=tuple(SCENARIOS),
        default="bad-canary",
        help="what the canary does (default: bad-canary)",
    )
    demo.add_argument(
        "--speed",
        type=_positive,
        default=10.0,
        help="simulated seconds per real second (default: 10)",
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    demo.add_argument(
        "--policy",
        choices=("manual", "auto"),
        default="manual",
        help="manual: keys move traffic; auto: the judge does (default: manual)",
    )
    demo.add_argument("--read-only", action="store_true", help="make every write impossible")
    demo.add_argument("--dry-run", action="store_true", help="show patches, apply nothing")
    demo.add_argument(
        "--headless",
        action="store_true",
        help="no UI: print one line per event (for scripts and tests)",
    )
    demo.add_argument(
        "--duration",
        type=_positive,
        default=60.0,
        help="--headless: real seconds of rollout at --speed, computed without "
        "waiting (default: 60)",
    )

    watch = sub.add_parser("watch", help="the cockpit against the configured cluster (default)")
    _common(watch)

    status = sub.add_parser("status", help="one snapshot of every (or one) rollout, then exit")
    _common(status, rollout=True)
    status.add_argument("--json", action="store_true", help='print {"rollouts": [...]}')

    for verb, text in (
        ("advance", "advance one step"),
        ("pause", "pause automation"),
        ("resume", "resume automation"),
        ("rollback", "canary weight to 0"),
    ):
        _common(sub.add_parser(verb, help=text), rollout=True, required=True)
    promote = sub.add_parser("promote", help="canary to 100 %% (needs --yes)")
    _common(promote, rollout=True, required=True)
    promote.add_argument("--yes", action="store_true", help="confirm the promotion")
    set_weight = sub.add_parser("set-weight", help="an exact canary weight in percent")
    _common(set_weight, rollout=True, required=True)
    set_weight.add_argument("pct", type=_percent, help="canary percentage 0..100")

    flag = sub.add_parser("flag", help="feature flags")
    flag_sub = flag.add_subparsers(dest="flag_command", parser_class=_Parser, required=True)
    toggle = flag_sub.add_parser("toggle", help="toggle a flag (boolean: flip; disabled: enable)")
    _common(toggle, rollout=True, required=True)
    toggle.add_argument("key", help="the flag's key")

    check = sub.add_parser("check-config", help="validate the file, reach every backend, report")
    _common(check)
    serve_cli.add_parser(sub)
    return parser


class _Version(argparse.Action):
    """--version, looked up only when asked (package metadata costs ~40 ms: not on every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("monotui")
        except PackageNotFoundError:
            found = "unknown"
        print(f"monotui {found}")
        parser.exit(0)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _percent(text: str) -> int:
    try:
        value = int(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole percentage") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a weight must be within 0..100, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except MonotuiError as exc:
        print(f"monotui: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command or "watch"
    if command == "demo":
        return _demo(args)
    if command == "watch":
        return _watch(args)
    if command == "status":
        return _status(args)
    if command == "serve-demo":
        return serve_cli.run(args)
    if command == "check-config":
        from monotui.check import check_config

        return check_config(_load(args), context=args.context, out=sys.stdout)
    return _one_action(command, args)


def _demo(args: argparse.Namespace) -> int:
    if TYPE_CHECKING:
        from monotui.sim.demo import Demo

    def build() -> Demo:
        from monotui.sim.demo import build_demo

        return build_demo(
            args.scenario,
            seed=args.seed,
            speed=args.speed,
            policy=args.policy,
            read_only=args.read_only,
            dry_run=args.dry_run,
            realtime=not args.headless,
        )

    if args.headless:
        from monotui.sim.demo import run_headless

        return run_headless(build(), args.duration, sys.stdout)
    from monotui.app import run_app

    def boot() -> tuple[list[Controller], object]:
        # After the first frame, in a thread: the world and its pydantic configs take ~250 ms.
        # argparse already checked scenario, speed and policy, so nothing here exits with 2.
        demo = build()
        return demo.controllers, demo

    run_app(title=f"monotui demo: {args.scenario}", boot=boot)
    return 0


def _load(args: argparse.Namespace) -> Config:
    from monotui import config

    cfg = config.load(args.config)
    if getattr(args, "namespace", None):
        cfg = cfg.model_copy(
            update={
                "rollouts": [
                    r.model_copy(update={"namespace": args.namespace}) for r in cfg.rollouts
                ]
            }
        )
    if not cfg.rollouts:
        raise ConfigError(f"{args.config or config.default_path()}: no [[rollouts]] configured")
    return cfg


def _controllers(
    args: argparse.Namespace, only: str | None = None, *, policy: str | None = None
) -> list[Controller]:
    from monotui.audit import AuditLog, default_path
    from monotui.backends import BackendFactory
    from monotui.controller import Controller

    cfg = _load(args)
    rollouts = [cfg.rollout(only)] if only else cfg.rollouts
    factory = BackendFactory(cfg, context=args.context, read_only=args.read_only)
    audit = AuditLog(cfg.audit.path or default_path())
    controllers = []
    for rollout in rollouts:
        backends = factory.build(rollout)
        controllers.append(
            Controller(
                rollout,
                router=backends.router,
                metrics=backends.metrics,
                flags=backends.flags,
                audit=audit,
                read_only=args.read_only,
                dry_run=args.dry_run,
                context=backends.context,
                kube_user=backends.kube_user,
                policy_name=policy,
            )
        )
    return controllers


def _watch(args: argparse.Namespace) -> int:
    controllers = _controllers(args)
    from monotui.app import run_app

    interval_s = min(c.config.interval_s for c in controllers)
    run_app(controllers, title="monotui", poll_interval_s=interval_s)
    return 0


def _status(args: argparse.Namespace) -> int:
    from monotui.status import snapshot_to_dict, summary_line

    snapshots = []
    for controller in _controllers(args, args.rollout, policy="manual"):
        snapshots.append(controller.poll())
    if args.json:
        print(json.dumps({"rollouts": [snapshot_to_dict(s) for s in snapshots]}, indent=2))
    else:
        for snap in snapshots:
            print(summary_line(snap))
    # The snapshot is printed either way; a source in ERROR makes the exit code say so too.
    failed = [src for snap in snapshots for src in snap.sources if src.state == "error"]
    for src in failed:
        print(f"monotui: {src.name}: {src.message}", file=sys.stderr)
    return failed[0].exit_code or 1 if failed else 0


def _one_action(command: str, args: argparse.Namespace) -> int:
    from monotui.model import Action, ActionKind

    if command == "promote" and not args.yes:
        raise ConfigError("promote sends 100 % of traffic to the canary: add --yes to confirm")
    kind = {
        "advance": ActionKind.ADVANCE,
        "pause": ActionKind.PAUSE,
        "resume": ActionKind.RESUME,
        "rollback": ActionKind.ROLLBACK,
        "promote": ActionKind.PROMOTE,
        "set-weight": ActionKind.SET_WEIGHT,
        "flag": ActionKind.TOGGLE_FLAG,
    }[command]
    action = Action(kind, args.rollout, origin="cli", reason=f"monotui {command} (CLI)")
    if kind == ActionKind.SET_WEIGHT:
        action = replace(action, weight_pct=args.pct)
    if kind == ActionKind.TOGGLE_FLAG:
        action = replace(action, flag_key=args.key, reason=f"monotui flag toggle {args.key} (CLI)")
    # One action, no poll: the controller reads the route (or flags) it needs, compare-and-set.
    (controller,) = _controllers(args, args.rollout, policy="manual")
    result = controller.apply(action)
    if result.patch and args.dry_run:
        print(result.patch)
    stream = sys.stdout if result.ok else sys.stderr
    print(f"{args.rollout}: {result.message}", file=stream)
    return 0 if result.ok else (result.exit_code or 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
