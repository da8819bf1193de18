"""The README's postmortem draft: the bad-canary demo's canary rolled out by the automation in
the simulated world, its traffic backfilled into a real Prometheus, the automation's actions in
an audit log, and `monotui report` run on them through the command line.

`python -m bench.report_example DIR` writes DIR/postmortem.md and its SVG charts. The actions
are the ones the judge and the policy take on that same traffic (found step by step: the world
is replayed with each decision until the rollback), so the report tells one consistent story.
Needs the Debian `prometheus` package (promtool). Not a benchmark: it has no `main()`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from monotui.model import Weights
from monotui.sim.scenarios import SCENARIOS
from monotui.status import iso
from tests.configs import load
from tests.prometheus_server import PrometheusServer
from tests.sim_history import T0, config_toml, played

HOLD_S = 100.0
AFTER_S = 120.0


def decisions(out: Path) -> list[tuple[float, str, int, str]]:
    """(seconds after T0, action, canary % after it, reason) until the rollback: what
    `monotui backtest` says the automation does on the traffic so far, one decision at a time
    (each one changes the traffic after it, so the world is played again with it)."""
    steps = (1, 5, 10, 25, 50, 100)
    schedule = [(0.0, steps[0])]
    found: list[tuple[float, str, int, str]] = []
    for n in range(len(steps) + 1):
        last_t, pct = schedule[-1]
        until = last_t + 2 * HOLD_S
        _, text = played([*schedule, (until, pct)], scenario=SCENARIOS["bad-canary"])
        prom = PrometheusServer(out / f"try-{n}")
        config = out / f"try-{n}.toml"
        config.write_text(config_toml(prom.url))
        try:
            prom.backfill(text)
            prom.start()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "monotui",
                    "backtest",
                    "-c",
                    str(config),
                    "--rollout",
                    "checkout",
                    "--from",
                    iso(T0),
                    "--to",
                    iso(T0 + until),
                    "--json",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            prom.kill()
        # The replay knows a new step two polls after the move: an advance counts once it
        # advances from the step the schedule is at.
        nxt = next(
            (
                d
                for d in json.loads(done.stdout)["decisions"]
                if _t(d["time"]) - T0 > last_t
                and (d["action"] == "rollback" or (d["action"] == "advance" and d["step"] == pct))
            ),
            None,
        )
        if nxt is None:
            break
        at = _t(nxt["time"]) - T0
        after = 0 if nxt["action"] == "rollback" else _next(steps, pct)
        found.append((at, nxt["action"], after, nxt["reason"]))
        # The action follows the poll that decided it: the traffic of that poll is as it was.
        schedule.append((at + 1, after))
        if nxt["action"] == "rollback":
            break
    return found


def _t(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _next(steps: tuple[int, ...], pct: int) -> int:
    return next(s for s in steps if s > pct)


def audit(path: Path, actions: list[tuple[float, str, int, str]], first: int) -> None:
    lines, before = [], first
    for n, (dt, action, after, reason) in enumerate(actions):
        at = datetime.fromtimestamp(T0 + dt, UTC).isoformat(timespec="milliseconds")
        ids = {"user": "autopilot", "id": f"{n:016x}"}
        lines.append(
            {
                "time": at,
                **ids,
                "phase": "intent",
                "rollout": "checkout",
                "namespace": "shop",
                "context": "prod",
                "action": action,
                "origin": "automation",
                "reason": reason,
                "dry_run": False,
            }
        )
        lines.append(
            {
                "time": at,
                **ids,
                "phase": "outcome",
                "result": "ok",
                "before": str(Weights.canary_at(before)),
                "after": str(Weights.canary_at(after)),
            }
        )
        before = after
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    prom = PrometheusServer(out / "prometheus")
    config = out / "monotui.toml"
    config.write_text(
        config_toml(prom.url, policy="auto") + f'\n[audit]\npath = "{out / "audit.jsonl"}"\n'
    )
    actions = decisions(out)
    first = load(config).rollout("checkout").steps[0]
    schedule = [(0.0, first)] + [(t + 1, after) for t, _, after, _ in actions]
    end = schedule[-1][0] + AFTER_S
    _, text = played([*schedule, (end, schedule[-1][1])], scenario=SCENARIOS["bad-canary"])
    audit(out / "audit.jsonl", actions, first)
    try:
        prom.backfill(text)
        prom.start()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "monotui",
                "report",
                "-c",
                str(config),
                "--rollout",
                "checkout",
                "--from",
                iso(T0 - 60),
                "--to",
                iso(T0 + end),
                "-o",
                str(out / "postmortem.md"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        prom.kill()
    print(done.stdout + done.stderr, end="")


if __name__ == "__main__":
    run(Path(sys.argv[1] if len(sys.argv) > 1 else "report-example"))
