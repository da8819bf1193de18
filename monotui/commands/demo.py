"""`monotui demo`: the cockpit (or `--headless`) on the embedded simulated world, no cluster."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from monotui.sim.scenarios import SCENARIOS

if TYPE_CHECKING:
    from monotui.app import Fleet
    from monotui.sim.demo import Demo


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text}")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="the cockpit on an embedded simulated world (no cluster)")
    p.add_argument(
        "--scenario",
        choices=tuple(SCENARIOS),
        default="bad-canary",
        help="what the canary does (default: bad-canary)",
    )
    p.add_argument(
        "--speed",
        type=positive,
        default=10.0,
        help="simulated seconds per real second (default: 10)",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    p.add_argument(
        "--traffic",
        type=positive,
        default=200.0,
        metavar="RPS",
        help="checkout's requests per second (default: 200; 20 is a quiet service)",
    )
    p.add_argument(
        "--policy",
        choices=("manual", "auto"),
        default="manual",
        help="manual: keys move traffic; auto: the judge does (default: manual)",
    )
    p.add_argument("--read-only", action="store_true", help="make every write impossible")
    p.add_argument("--dry-run", action="store_true", help="show patches, apply nothing")
    p.add_argument(
        "--headless",
        action="store_true",
        help="no UI: print one line per event (for scripts and tests)",
    )
    p.add_argument(
        "--duration",
        type=positive,
        default=60.0,
        help="--headless: real seconds of rollout at --speed, computed without "
        "waiting (default: 60)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
            traffic=args.traffic,
        )

    if args.headless:
        from monotui.sim.demo import run_headless

        return run_headless(build(), args.duration, sys.stdout)
    from monotui.app import Fleet, run_app

    def boot() -> Fleet:
        # After the first frame, in a thread: the world and its pydantic configs take ~250 ms.
        # argparse already checked scenario, speed and policy, so nothing here exits with 2.
        return Fleet(build().rollouts)

    return run_app(title=f"monotui demo: {args.scenario}", boot=boot)
