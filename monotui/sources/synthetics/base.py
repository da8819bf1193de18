"""What a synthetic source hands back, and the Protocol every kind implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe's outcome on one track."""

    ok: bool
    reason: str = ""
    """Why it failed ("status 500 (expected 200)", "timeout after 2 s", ...); "" when it passed."""
    latency_ms: float | None = None
    t: float = 0.0
    """When it was taken (the rollout's clock)."""


@dataclass(frozen=True, slots=True)
class TrackReading:
    """What one read found for one track: the probes since the last read and the newest one."""

    track: str
    passes: int = 0
    failures: int = 0
    newest: ProbeResult | None = None
    """The newest result (None: none new since the last read)."""
    error: str | None = None
    """Why no result could be had at all (ERROR: not the target's failure)."""


@runtime_checkable
class SyntheticSource(Protocol):
    """One configured probe, read once per poll."""

    name: str
    kind: str
    tracks: tuple[str, ...]
    flag_key: str | None
    """The flag the canary+flag track forces (None: no such track)."""
    interval_s: float
    """How often a new result is expected (a result older than two of these is STALE)."""

    def read(self, now: float, reachable: frozenset[str]) -> tuple[TrackReading, ...]:
        """The results since the last read, per track. `reachable`: the tracks the route lets a
        header reach now (a probe that needs the header route skips the others)."""
        ...

    def header_tracks(self) -> tuple[str, ...]:
        """The tracks reached through the route monotui adds (x-monotui-track), none for most."""
        ...

    def curl(self, track: str) -> str | None:
        """A shell line that sends this probe's request to `track` by hand, no secret in it."""
        ...

    def close(self) -> None: ...
