"""`monotui demo`: the cockpit (or `--headless`) on the embedded simulated world, no cluster."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from monotui.commands.common import add_terminal, terminal
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


def fleet_size(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 2000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 2000, got {text}")
    return int(text)


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
    p.add_argument(
        "--fleet",
        type=fleet_size,
        metavar="N",
        help="a fleet of N simulated rollouts in two clusters instead (for the fleet screen)",
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
    p.add_argument(
        "--notify",
        metavar="URL",
        help="also send the demo's notifications to this webhook (a Slack incoming webhook "
        "gets Slack's shape, any other URL the generic JSON)",
    )
    add_terminal(p)
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

        demo = build()
        with notifying(args.notify, demo, headless=True):
            return run_headless(demo, args.duration, sys.stdout)
    drawing = terminal(args, plain="monotui demo --headless")
    from monotui.app import Fleet, run_app

    if args.fleet:
        if args.notify:
            from monotui.errors import ConfigError

            raise ConfigError("demo --notify sends one scenario's events: leave out --fleet")
        return _fleet(args)
    if args.notify:
        demo_notify_url(args.notify)  # a bad URL is exit 2 before the screen opens
    closing = contextlib.ExitStack()

    def boot() -> Fleet:
        # After the first frame, in a thread: the world and its pydantic configs take ~250 ms.
        # argparse already checked scenario, speed and policy, so nothing here exits with 2.
        demo = build()
        closing.enter_context(notifying(args.notify, demo, headless=False))
        # Polled once a real second at any speed (the intervals are in simulated seconds).
        return Fleet(demo.rollouts, pace=demo.speed)

    with closing:
        return run_app(title=f"monotui demo: {args.scenario}", boot=boot, terminal=drawing)


def _fleet(args: argparse.Namespace) -> int:
    """`--fleet N`: the simulated fleet, polled in real time at `--speed`."""
    from monotui.app import Fleet, run_app

    def boot() -> Fleet:
        from monotui.sim.fleet import build_fleet

        # Every rollout polled every 5 real seconds, whatever the speed.
        demo = build_fleet(
            args.fleet, seed=args.seed, read_only=args.read_only, interval_s=5 * args.speed
        )
        demo.follow(args.speed)
        return Fleet(demo.rollouts)

    return run_app(title=f"monotui demo: a fleet of {args.fleet}", boot=boot)


def demo_notify_url(url: str) -> str:
    """The kind of sink `--notify URL` makes: slack for a Slack incoming webhook, else webhook."""
    from urllib.parse import urlsplit

    from monotui.errors import ConfigError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("--notify needs an http:// or https:// URL")
    slack = parts.netloc == "hooks.slack.com" or parts.path.startswith("/services/")
    return "slack" if slack else "webhook"


@contextlib.contextmanager
def notifying(url: str | None, demo: Demo, *, headless: bool) -> Iterator[None]:
    """The demo's events also to `url` while the block runs (nothing without a URL)."""
    if not url:
        yield
        return
    import os
    import tempfile
    from pathlib import Path

    from monotui.notify.attach import attach
    from monotui.notify.settings import NotifySettings

    kind = demo_notify_url(url)
    # The URL is a secret like any webhook's: it reaches the sink through a private file.
    fd, name = tempfile.mkstemp(prefix="monotui-notify-")
    try:
        os.write(fd, url.encode())
        os.close(fd)
        # Headless, a whole rollout passes in a second: one message per event, none held back.
        pace = {"batch_s": 0.0, "per_minute": 600, "burst": 100} if headless else {}
        sink = NotifySettings.model_validate(
            {"kind": kind, "name": "demo", "url_file": Path(name), **pace}
        )
        told = attach(
            [sink], demo.rollouts, demo.bus, clock=demo.now, kube_events=False, persist=False
        )
    finally:
        os.unlink(name)
    try:
        yield
    finally:
        left = told.close(timeout_s=10.0)
        if left:
            print(
                f"monotui: {left} notifications could not be delivered to --notify", file=sys.stderr
            )
