"""A fleet of N = 1, 10, 100, 300 Istio rollouts on the fake API server and a real Prometheus with N
services of history, each number printed as a ratio against a floor measured in the same run:

- `status --json`: wall time and peak RSS against the three batched queries timed directly plus
  `kubectl get virtualservices -A -o json`; the queries Prometheus answered (its own counter) and
  the API requests the fake received (`FakeKube.count_requests`);
- polls (the scheduler headless, in this process): queries and API requests per poll at steady
  state, how late a poll started and how long the longest took, against the interval;
- `watch` on a pty, as installed (AS_INSTALLED): time to the first full fleet frame (every row
  shows its route and counts) and until every row is judged (its history read; the floor judges
  nothing), CPU and RSS at steady state (from a few seconds after every row was judged), threads
  and connections, and key latency (`g` until the grouping shows), against a minimal Textual
  DataTable of N rows doing the same I/O at the same interval (its key: `/` until a line shows).

Targets at N = 300 (issue 17): at most 3 queries per Prometheus per poll (plus history once), 0 API
requests per poll at steady state, status within 2x its floor, watch CPU within 2x the DataTable's,
threads and connections that do not grow with N, RSS under 300 MB, first frame within 1.5x the
floor, every poll within its interval, a key answered within 100 ms. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.fleet_floor import floor_argv, kubectl_floor_s, query_floor_s
from bench.fleet_world import INTERVAL_S, FleetWorld, connections_to, threads_of
from bench.terminal import Session, start

SIZES = (1, 10, 100, 300)
WARMUP_S = 5.0
CPU_S = 20.0
KEYS = 4
FRAME_TIMEOUT_S = 180.0


AS_INSTALLED: dict[str, str | None] = {"PYTHONDONTWRITEBYTECODE": None}
"""What the measured processes (monotui and the floors alike) run without: an installed package
has its bytecode compiled (pip does it), and a user's later starts read it. This machine sets
PYTHONDONTWRITEBYTECODE=1, which would make every start compile monotui's changed modules
again (0.1-0.2 s of the first frame at N=300)."""

SPAWN_AND_MEASURE = """
import json, os, sys, time
began = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - began
with open(sys.argv[1], "w") as f:
    json.dump({"wall_s": wall, "rss_mb": usage.ru_maxrss / 1024}, f)
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs argv[2:] and writes its wall time and peak RSS to argv[1]. A child's ru_maxrss counts
the memory of the process it was forked from until it execs: spawned from the benchmark (which
holds the whole world) it would read the benchmark's own RSS, so a small interpreter spawns it."""


def status_run(world: FleetWorld) -> dict[str, float]:
    """One `monotui status --json` of the whole fleet: wall time, peak RSS, what it asked."""
    assert world.config is not None
    since, answered = len(world.fake.requests), world.queries_answered()
    measured = world.root / "status-usage.json"
    argv = [sys.executable, "-m", "monotui", "status", "--json", "-c", str(world.config)]
    done = subprocess.run(
        [sys.executable, "-c", SPAWN_AND_MEASURE, str(measured), *argv],
        env={k: v for k, v in os.environ.items() if k not in AS_INSTALLED},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    usage = json.loads(measured.read_text(encoding="utf-8"))
    rollouts = json.loads(done.stdout or b"{}").get("rollouts", [])
    filled = sum(1 for r in rollouts if r["error_rate"]["baseline"] is not None)
    return {
        "wall_s": usage["wall_s"],
        "rss_mb": usage["rss_mb"],
        "exit": done.returncode,
        "filled": filled,
        "queries": world.queries_answered() - answered,
        "api": world.fake.count_requests(since=since),
    }


def poll_run(world: FleetWorld, rounds: int = 4) -> dict[str, float]:
    """The scheduler headless: queries and API requests per poll at steady state, lateness."""
    from monotui.commands.common import session, with_defaults
    from monotui.scheduler import PollScheduler

    args = with_defaults(argparse.Namespace(config=world.config))
    built = session(args, shared_reads=True)
    cycles: Counter[str] = Counter()
    scheduler = PollScheduler(built.rollouts, deliver=lambda name, snap: cycles.update([name]))
    try:
        scheduler.start()
        deadline = time.monotonic() + 120
        while len(scheduler.durations) < world.n and time.monotonic() < deadline:
            time.sleep(0.1)  # a benchmark waiting for the first round
        time.sleep(INTERVAL_S)  # the first round's stragglers
        since, answered = len(world.fake.requests), world.queries_answered()
        time.sleep(rounds * INTERVAL_S)  # benchmark: the steady window
        queries = world.queries_answered() - answered
        api = world.fake.count_requests(since=since)
        late = max(scheduler.late.values(), default=0.0)
        longest = max(scheduler.durations.values(), default=0.0)
    finally:
        scheduler.stop()
        built.close()
    return {"queries_per_poll": queries / rounds, "api_per_poll": api / rounds, "late_s": late} | {
        "longest_s": longest
    }


Keys = tuple[tuple[bytes, str, bool], ...]
"""(key, a text on screen, whether it goes rather than comes once the key was handled), pressed
in turn. Read on the screen, not in the bytes: monotui sends only the cells that change."""
FLEET_KEYS: Keys = (
    (b"g", "group namespace", False),
    (b"g", "group cluster", False),
    (b"g", "sort severity · / filter", False),
)
FLOOR_KEYS: Keys = ((b"/", "filter: a regular", False), (b"\x1b", "floor-idle", False))
# The help is a modal over the cockpit: escape is done when its text is gone.
COCKPIT_KEYS: Keys = ((b"?", "what happens next", False), (b"\x1b", "what happens next", True))


def keys(session: Session, presses: Keys) -> list[float]:
    """Seconds from each key to its mark on screen, KEYS rounds of `presses`."""
    out = []
    for _ in range(KEYS):
        for key, text, gone in presses:
            sent = time.monotonic()
            os.write(session.master, key)
            shown = session.wait_shown(text, 20, gone=gone)
            out.append(shown - (sent - session.started))
            time.sleep(0.1)  # benchmark: a person's pace between keys
    return out


def summary_of(session: Session, n: int) -> str | None:
    """The fleet's summary line once every row is polled ("300 rollouts · 3 FAIL · ...", not
    "300 rollouts (polled 120) · ..."; the title line says "monotui: 300 rollouts · ...")."""
    return next((r for r in session.shown() if r.strip().startswith(f"{n} rollouts ·")), None)


def frame_at(session: Session, n: int, timeout_s: float) -> float:
    """Seconds from start until the fleet's summary says every row is polled."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if summary_of(session, n) is not None:
            return time.monotonic() - session.started
        if session.proc.poll() is not None:
            break
        time.sleep(0.002)  # a benchmark polling a pty, not a test
    raise RuntimeError(f"no full fleet frame; the screen: {session.shown()!r}")


def judged_at(session: Session, n: int, timeout_s: float) -> float | None:
    """Seconds from start until the fleet's summary counts no rollout waiting: every row polled
    and judged (its history read). None if that did not happen within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = summary_of(session, n)
        if line is not None and "waiting" not in line:
            return time.monotonic() - session.started
        time.sleep(0.01)  # a benchmark polling a pty, not a test
    print(f"  (rows still waiting after {timeout_s:.0f} s: {summary_of(session, n)!r})", flush=True)
    return None


def watch_run(
    world: FleetWorld, argv: list[str], full: str, presses: Keys, *, fleet: bool = False
) -> dict[str, Any]:
    """First full frame (`full` on the screen; `fleet`: monotui's fleet screen, its summary),
    every row judged (`fleet`; otherwise the same frame), steady CPU and RSS, threads,
    connections, key latency of `argv`. The steady state starts WARMUP_S after every row was
    judged."""
    assert world.prometheus is not None
    session = start(argv, env=AS_INSTALLED)
    try:
        try:
            if fleet:
                frame_s: float | None = frame_at(session, world.n, FRAME_TIMEOUT_S)
            else:
                frame_s = session.wait_shown(full, FRAME_TIMEOUT_S)
        except RuntimeError:  # said in the report, with what the screen said last
            frame_s = None
            seen = [row.strip() for row in session.shown() if "rollouts" in row]
            print(f"  (no full frame in {FRAME_TIMEOUT_S:.0f} s; last: {seen[:1]!r})", flush=True)
        judged_s = frame_s
        if fleet and frame_s is not None:
            judged_s = judged_at(session, world.n, FRAME_TIMEOUT_S)
        time.sleep(WARMUP_S)  # benchmark: past the first polls
        since, answered = len(world.fake.requests), world.queries_answered()
        cpu0, t0, sent0 = session.cpu_s(), time.monotonic(), session.written
        time.sleep(CPU_S)  # benchmark: the window being measured
        elapsed = time.monotonic() - t0
        cpu = 100 * (session.cpu_s() - cpu0) / elapsed
        polls = CPU_S / INTERVAL_S
        result: dict[str, Any] = {
            "frame_s": frame_s,
            "judged_s": judged_s,
            "cpu_pct": cpu,
            "rss_mb": session.rss_mb(),
            "bytes_per_s": (session.written - sent0) / elapsed,
            "threads": threads_of(session.proc.pid),
            "prom_conns": connections_to(session.proc.pid, world.prometheus.port),
            "api_conns": connections_to(session.proc.pid, world.fake.port),
            "queries_per_poll": (world.queries_answered() - answered) / polls,
            "api_per_poll": world.fake.count_requests(since=since) / polls,
        }
        result["keys"] = keys(session, presses)
        return result
    finally:
        session.close()


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def report(
    n: int,
    status: dict[str, float],
    floor_q: float,
    floor_k: float,
    polls: dict[str, float],
    mon: dict[str, Any],
    flo: dict[str, Any],
) -> None:
    floor_status = floor_q + floor_k
    keys_ms = [k * 1000 for k in mon["keys"]]
    floor_keys = [k * 1000 for k in flo["keys"]]
    print(
        f"N={n}: status --json {status['wall_s']:.2f} s vs floor {floor_status:.2f} s "
        f"(3 batched queries {floor_q * 1000:.0f} ms + kubectl get -A {floor_k * 1000:.0f} ms) = "
        f"{ratio(status['wall_s'], floor_status)}; peak RSS {status['rss_mb']:.0f} MB; "
        f"{status['queries']:.0f} queries (history included), {status['api']:.0f} API requests; "
        f"exit {status['exit']:.0f}, {status['filled']:.0f}/{n} with data",
        flush=True,
    )
    print(
        f"  polls: {polls['queries_per_poll']:.1f} queries/poll, {polls['api_per_poll']:.1f} API "
        f"requests/poll; latest start {polls['late_s'] * 1000:.0f} ms after due, longest poll "
        f"{polls['longest_s'] * 1000:.0f} ms (interval {INTERVAL_S:.0f} s)",
        flush=True,
    )
    frame = "none" if mon["frame_s"] is None else f"{mon['frame_s']:.2f} s"
    judged = "never" if mon["judged_s"] is None else f"after {mon['judged_s']:.2f} s"
    floor_frame = flo["frame_s"] or float("nan")
    print(
        f"  watch: first full frame {frame} vs floor {floor_frame:.2f} s = "
        f"{ratio(mon['frame_s'] or float('nan'), floor_frame)}, every row judged {judged}; "
        f"CPU {mon['cpu_pct']:.1f} % vs floor "
        f"{flo['cpu_pct']:.1f} % = {ratio(mon['cpu_pct'], flo['cpu_pct'])}; RSS "
        f"{mon['rss_mb']:.0f} MB (floor {flo['rss_mb']:.0f}); threads {mon['threads']} (floor "
        f"{flo['threads']}); connections to Prometheus {mon['prom_conns']} (floor "
        f"{flo['prom_conns']}), to the API {mon['api_conns']} (floor {flo['api_conns']}); "
        f"{mon['queries_per_poll']:.1f} queries/poll, {mon['api_per_poll']:.1f} API requests/poll; "
        f"{mon['bytes_per_s'] / 1024:.2f} KB/s to the terminal (floor "
        f"{flo['bytes_per_s'] / 1024:.2f})",
        flush=True,
    )
    print(
        f"  keys: answered in {statistics.median(keys_ms):.0f} ms median, {max(keys_ms):.0f} ms "
        f"max vs floor {statistics.median(floor_keys):.0f} / {max(floor_keys):.0f} ms "
        f"(goal <= 100 ms)",
        flush=True,
    )


def main(sizes: tuple[int, ...] = SIZES) -> None:
    """Every N in turn, each on a fresh fake API server and Prometheus."""
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix=f"fleet-{n}-") as tmp:
            world = FleetWorld(n, Path(tmp)).start()
            try:
                assert world.config is not None
                floor_q, floor_k = query_floor_s(world), kubectl_floor_s(world)
                status = status_run(world)
                polls = poll_run(world)
                argv = [sys.executable, "-m", "monotui", "watch", "-c", str(world.config)]
                if n == 1:  # one rollout opens its cockpit: its verdict panel, the help key
                    mon = watch_run(world, argv, "requests in this step", COCKPIT_KEYS)
                else:  # the summary once every row is polled (frame_at)
                    mon = watch_run(world, argv, "", FLEET_KEYS, fleet=True)
                flo = watch_run(world, floor_argv(world), f"floor-ready {n}", FLOOR_KEYS)
                report(n, status, floor_q, floor_k, polls, mon, flo)
            finally:
                world.close()


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
