"""Time to first frame of `monotui demo` in a real pty vs a minimal Textual app with one plotext
chart, measured in the same run. Goal: at most 1.25x the floor. Prints the ratio, asserts nothing.

The demo's first frame is its fleet screen saying "starting…" (the world is built after it, in a
thread); the time until the rows show real data is printed too, so the wait is not hidden.
"""

from __future__ import annotations

import statistics

from bench.terminal import demo_argv, floor_argv, start

RUNS = 5
FIRST_FRAME = b"rollouts"
"""The fleet table's title: in the first frame, before any rollout is known."""
FIRST_DATA = b"% canary"
"""A row's weight column: the world was built and polled once."""


def measure(argv: list[str], *markers: bytes) -> list[float]:
    session = start(argv)
    try:
        return [session.wait_for(marker) for marker in markers]
    finally:
        session.close()


def main() -> dict[str, float]:
    """Median first-frame seconds of both, interleaved so machine noise hits both alike."""
    floor, demo, data = [], [], []
    for _ in range(RUNS):
        floor += measure(floor_argv(), b"floor-ready")
        frame_s, data_s = measure(demo_argv(), FIRST_FRAME, FIRST_DATA)
        demo.append(frame_s)
        data.append(data_s)
    f, d, rows = statistics.median(floor), statistics.median(demo), statistics.median(data)
    print(
        f"first frame: floor {f * 1000:.0f} ms, monotui demo {d * 1000:.0f} ms, "
        f"ratio {d / f:.2f}x (goal <= 1.25x); first data in the rows at {rows * 1000:.0f} ms "
        f"({rows / f:.2f}x)"
    )
    return {"floor_s": f, "demo_s": d, "ratio": d / f, "first_data_s": rows}


if __name__ == "__main__":
    main()
