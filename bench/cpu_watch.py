"""CPU of `monotui demo` watching at a 1 s refresh over 30 s, vs a minimal Textual app redrawing one
plotext chart every second, in the same run. Goal: at most 2 % of one core.

The cockpit is measured over two windows in a row: the first 30 s after it opened (which includes
one-time costs, such as the judge importing scipy when it first has enough samples) and the next
30 s (steady watching). The ratio is the steady window against the floor.
"""

from __future__ import annotations

import os
import sys
import time

from bench.terminal import Session, demo_argv, floor_argv, start

WARMUP_S = 3.0


def cpu_percent(session: Session, duration_s: float) -> float:
    """Percent of one core the process used over the next `duration_s` seconds."""
    before, t0 = session.cpu_s(), time.monotonic()
    time.sleep(duration_s)  # benchmark: the window being measured
    return 100.0 * (session.cpu_s() - before) / (time.monotonic() - t0)


def main(duration_s: float = 30.0) -> dict[str, float]:
    """Percent of one core for both; the demo opens the checkout cockpit (all panels live)."""
    floor = start(floor_argv())
    try:
        floor.wait_for(b"floor-ready")
        time.sleep(WARMUP_S)  # benchmark: let the first frames settle
        floor_pct = cpu_percent(floor, duration_s)
    finally:
        floor.close()
    demo = start(demo_argv())
    try:
        demo.wait_for(b"% canary")  # the rows: the world is built
        os.write(demo.master, b"\r")  # enter: open the first rollout's cockpit
        demo.wait_for(b"error rate")
        time.sleep(WARMUP_S)  # benchmark: let the first polls settle
        first_pct = cpu_percent(demo, duration_s)
        steady_pct = cpu_percent(demo, duration_s)
    finally:
        demo.close()
    print(
        f"cpu at 1 s refresh over {duration_s:.0f}s: floor {floor_pct:.2f} %, monotui cockpit "
        f"{first_pct:.2f} % in its first {duration_s:.0f}s, {steady_pct:.2f} % in the next "
        f"(steady), ratio {steady_pct / max(floor_pct, 1e-9):.2f}x (goal <= 2 %)"
    )
    return {"floor_pct": floor_pct, "first_pct": first_pct, "demo_pct": steady_pct}


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
