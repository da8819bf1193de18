"""A Lease as the cockpit's header and plan show it (`AutopilotStatus`)."""

from __future__ import annotations

from monotui.autopilot.lease import LeaseRecord
from monotui.autopilot.resume import StoredState
from monotui.model import AutopilotStatus


def status_of(
    path: str,
    record: LeaseRecord | None,
    *,
    live: bool,
    here: bool,
    now: float,
    error: str = "",
) -> AutopilotStatus:
    """What `record` (None: no Lease) says, read at `now` (our wall clock)."""
    if record is None:
        return AutopilotStatus(path, error=error)
    renewed = None if record.renew_t is None else max(0.0, now - record.renew_t)
    stored = StoredState.loads(record.state)
    hold = None
    if stored is not None:
        hold = stored.hold_elapsed_s
        if renewed is not None and live:
            hold += renewed  # the hold counts from the step's start: still counting since
    return AutopilotStatus(
        path,
        holder=record.holder,
        live=live and bool(record.holder),
        here=here,
        renewed_age_s=renewed,
        next_move=stored.next_move if stored is not None and record.holder else "",
        hold_elapsed_s=hold,
        error=error,
    )
