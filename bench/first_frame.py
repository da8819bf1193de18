"""Time to first frame of `monotui demo` in a real pty vs a minimal Textual app with one plotext
chart, measured in the same run. Goal: at most 1.25x the floor. Prints the ratio, asserts nothing."""

from __future__ import annotations

import statistics

from bench.terminal import demo_argv, floor_argv, start

RUNS = 5


def measure(argv: list[str], marker: bytes) -> float:
    session = start(argv)
    try:
        return session.wait_for(marker)
    finally:
        session.close()


def main() -> dict[str, float]:
    """Median first-frame seconds of both, interleaved so machine noise hits both alike."""
    floor, demo = [], []
    for _ in range(RUNS):
        floor.append(measure(floor_argv(), b"floor-ready"))
        demo.append(measure(demo_argv(), b"rollouts"))
    f, d = statistics.median(floor), statistics.median(demo)
    print(
        f"first frame: floor {f * 1000:.0f} ms, monotui demo {d * 1000:.0f} ms, ratio {d / f:.2f}x (goal <= 1.25x)"
    )
    return {"floor_s": f, "demo_s": d, "ratio": d / f}


if __name__ == "__main__":
    main()
