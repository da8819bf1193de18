"""The cyclic garbage collector kept out of the screen's way in a long-running cockpit.

A full collection walks every object the process holds, with the interpreter held: at 300
rollouts that is about 300,000 objects (the modules, the Kubernetes client, every rollout's
history), 100-190 ms at a time, every 20-30 s while watching, and five to eight times during
the fleet's start. A key pressed then waits for it. Almost all of those objects live as long as
the process, so once they exist they are frozen (`gc.freeze`): later collections look only at
what the polls make. They are still freed by their reference counts; only a reference cycle
among them that becomes garbage stays until `release`. The freezes happen at start-up only
(after the rollouts are built and after each round of starts), so what can stay is bounded.

The youngest generation is collected every YOUNG_THRESHOLD allocations instead of 700: a poll
round allocates hundreds of thousands of short-lived objects, and each young collection also
walks the round's live containers.

Measured at 300 rollouts (bench.fleet_scale's world, 160x50, old and new code interleaved on a
loaded machine): the longest collection while watching went from 155-648 ms to 10-50 ms, and the
collector's time in the first 30 s from 3.4-7.2 s to 2.3-2.6 s.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "held", "keep_what_lives", "release", "tune"]

YOUNG_THRESHOLD = 10_000


def tune() -> None:
    """Collect the youngest generation less often (see the module's docstring)."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, old)


@contextmanager
def held() -> Iterator[None]:
    """No collection while the block builds what the cockpit keeps (the Kubernetes client, the
    rollouts: two full collections of 40-90 ms before the first frame at 300 rollouts; the
    cockpit then keeps it, `keep_what_lives`). The collector is on again however the block
    ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def keep_what_lives() -> None:
    """Keep every object alive now out of later collections (cheap: the lists are moved)."""
    gc.freeze()


def release() -> None:
    """Let the collector look at the kept objects again (the cockpit is closing)."""
    gc.unfreeze()
