"""CPU of `monotui demo` watching at a 1 s refresh over 30 s, vs a minimal Textual app redrawing one
plotext chart every second, in the same run. Goal: at most 2 % of one core."""

from __future__ import annotations

import sys
import time

from bench.terminal import Session, demo_argv, floor_argv, start

WARMUP_S = 3.0


def cpu_percent(session: Session, marker: bytes, duration_s: float) -> float:
    session.wait_for(marker)
    time.sleep(WARMUP_S)  # benchmark: let the first polls and history fill settle
    before, t0 = session.cpu_s(), time.monotonic()
    time.sleep(duration_s)
    return 100.0 * (session.cpu_s() - before) / (time.monotonic() - t0)


def main(duration_s: float = 30.0) -> dict[str, float]:
    """Percent of one core for both; the demo opens the checkout cockpit (all panels live)."""
    floor = start(floor_argv())
    try:
        floor_pct = cpu_percent(floor, b"floor-ready", duration_s)
    finally:
        floor.close()
    demo = start(demo_argv())
    try:
        demo.wait_for(b"rollouts")
        time.sleep(1.0)
        __import__("os").write(demo.master, b"\r")  # enter: open the first rollout's cockpit
        demo_pct = cpu_percent(demo, b"error rate", duration_s)
    finally:
        demo.close()
    print(
        f"cpu at 1 s refresh over {duration_s:.0f}s: floor {floor_pct:.2f} %, monotui cockpit {demo_pct:.2f} % of a core, ratio {demo_pct / max(floor_pct, 1e-9):.2f}x (goal <= 2 %)"
    )
    return {"floor_pct": floor_pct, "demo_pct": demo_pct}


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
