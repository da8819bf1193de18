"""The autopilot as the cockpit sees it: who holds a rollout's Lease, how fresh it is, and what
the autopilot will do next; and the event of a process starting or stopping to lead."""

from __future__ import annotations

from dataclasses import dataclass

from monotui.model.events import Event


@dataclass(frozen=True, slots=True)
class AutopilotStatus:
    """The Lease of one rollout's automation, as last read (outside text: show it literally).

    `live` is whether the holder may be acting now: a cockpit on auto defers to a live holder.
    `renewed_age_s` compares the holder's renewTime with our clock (display only: clocks differ).
    `next_move` and `hold_elapsed_s` are the holder's own words and hold timer, as it stored them.
    """

    lease: str  # "namespace/name"
    holder: str = ""  # "" when nobody holds it (never taken, or released)
    live: bool = False
    here: bool = False  # this process holds it (the autopilot itself)
    renewed_age_s: float | None = None
    next_move: str = ""
    hold_elapsed_s: float | None = None
    error: str = ""  # why the Lease could not be read ("" when it was)

    @property
    def expired(self) -> bool:
        """Somebody held it, and has stopped renewing it."""
        return bool(self.holder) and not self.live and not self.error


@dataclass(frozen=True, slots=True)
class LeadershipChanged(Event):
    """This process started (`leading`) or stopped leading one rollout's automation."""

    leading: bool = False
    holder: str = ""  # who holds the Lease now, as far as we know
    lease: str = ""  # "namespace/name"

    @property
    def kind(self) -> str:
        return "automation"
