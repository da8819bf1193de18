"""RSS of `monotui demo` after an hour of simulated time at high speed. Goal: under 150 MB."""

from __future__ import annotations

import os
import sys
import time

from bench.terminal import demo_argv, start

SIM_S = 3600.0


def main(speed: float = 120.0) -> dict[str, float]:
    """Runs the cockpit at `speed` until an hour of simulated time passed; prints RSS at start and end."""
    session = start(demo_argv("--speed", f"{speed:g}", "--policy", "auto"))
    try:
        session.wait_for(b"% canary")  # the rows: the world is built
        os.write(session.master, b"\r")
        session.wait_for(b"error rate")
        start_mb = session.rss_mb()
        time.sleep(SIM_S / speed)  # benchmark: let the simulated hour pass
        end_mb = session.rss_mb()
    finally:
        session.close()
    print(
        f"memory: RSS {start_mb:.0f} MB at start, {end_mb:.0f} MB after {SIM_S / 3600:.0f} h simulated at speed {speed:g} (goal < 150 MB)"
    )
    return {"start_mb": start_mb, "end_mb": end_mb}


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 120.0)
