"""The one-shot verbs: advance, pause, resume, rollback, promote, set-weight, flag toggle. One
action through the same actuator and safety as the keys; no observation, no automation."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from monotui.commands.common import add_common, add_rollout, session
from monotui.errors import ConfigError
from monotui.model import Action, ActionKind
from monotui.outside_text import literal

MESSAGE_MAX = 1000
PATCH_LINE_MAX = 4000

ACT_NOTIFY_S = 5.0
"""How long a one-shot verb waits for its notifications and Event before exiting."""

VERBS = {
    "advance": (ActionKind.ADVANCE, "advance one step"),
    "pause": (ActionKind.PAUSE, "pause automation"),
    "resume": (ActionKind.RESUME, "resume automation"),
    "rollback": (ActionKind.ROLLBACK, "canary weight to 0"),
}


def register(sub: Any) -> None:
    for verb, (kind, text) in VERBS.items():
        p = sub.add_parser(verb, help=text)
        add_common(p)
        add_rollout(p, required=True)
        p.set_defaults(run=run, kind=kind)
    p = sub.add_parser("promote", help="canary to 100 %% (needs --yes)")
    add_common(p)
    add_rollout(p, required=True)
    p.add_argument("--yes", action="store_true", help="confirm the promotion")
    p.set_defaults(run=run, kind=ActionKind.PROMOTE)
    p = sub.add_parser("set-weight", help="an exact canary weight in percent")
    add_common(p)
    add_rollout(p, required=True)
    p.add_argument("pct", type=_percent, help="canary percentage 0..100")
    p.set_defaults(run=run, kind=ActionKind.SET_WEIGHT)
    flag = sub.add_parser("flag", help="feature flags")
    flag_sub = flag.add_subparsers(dest="flag_command", parser_class=type(flag), required=True)
    toggle = flag_sub.add_parser("toggle", help="toggle a flag (boolean: flip; disabled: enable)")
    add_common(toggle)
    add_rollout(toggle, required=True)
    toggle.add_argument("key", help="the flag's key")
    toggle.set_defaults(run=run, kind=ActionKind.TOGGLE_FLAG)


def _percent(text: str) -> int:
    try:
        value = int(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole percentage") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a weight must be within 0..100, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    kind: ActionKind = args.kind
    if kind == ActionKind.PROMOTE and not args.yes:
        raise ConfigError("promote sends 100 % of traffic to the canary: add --yes to confirm")
    command = args.command
    action = Action(kind, args.rollout, origin="cli", reason=f"monotui {command} (CLI)")
    if kind == ActionKind.SET_WEIGHT:
        action = replace(action, weight_pct=args.pct)
    if kind == ActionKind.TOGGLE_FLAG:
        action = replace(action, flag_key=args.key, reason=f"monotui flag toggle {args.key} (CLI)")
    # One action, no observation: the actuator reads the route (or flags) it needs.
    built = session(args, only=args.rollout, policy="manual")
    try:
        from monotui.notify.attach import attach

        try:
            told = attach(built.config.notify, built.rollouts, built.bus)
        except ConfigError as exc:
            # A rollback must not wait for a webhook's secret: act, and say who is not told.
            print(
                f"monotui: notifications are off for this action: {literal(exc)}", file=sys.stderr
            )
            told = attach([], built.rollouts, built.bus)
        try:
            (rollout,) = built.rollouts
            result = rollout.apply(action)
        finally:
            # Within a deadline: what is not delivered stays queued for the next monotui.
            told.close(timeout_s=ACT_NOTIFY_S)
    finally:
        built.close()
    if result.patch and args.dry_run:
        # A diff keeps its lines; each is literal (a flag file's text is outside text).
        for line in result.patch.splitlines():
            print(literal(line, max_len=PATCH_LINE_MAX))
    stream = sys.stdout if result.ok else sys.stderr
    print(f"{literal(args.rollout)}: {literal(result.message, max_len=MESSAGE_MAX)}", file=stream)
    return 0 if result.ok else (result.exit_code or 1)
