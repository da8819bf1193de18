"""The header routes of the synthetic probes: `x-monotui-track: canary|baseline` sent to one
version (monotui.sources.track_routes), added for the probes and removed when the rollout ends.

Written like every other change: compare-and-set against the route as last read, the intent in
the audit log before the write and its outcome after, told as an event; never in read-only mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from monotui.audit import AuditLog
from monotui.errors import ConflictError, MonotuiError, UncertainWriteError
from monotui.model import Event, EventLevel
from monotui.rollout.ledger import Where
from monotui.rollout.state import RolloutState
from monotui.rollout.told import Told
from monotui.sources.base import Router, RouteState, TrackRouter

HEADER_ROUTES = "x-monotui-track header routes"


@dataclass(frozen=True, slots=True)
class RouteWrite:
    """What adding or removing the header routes did."""

    ok: bool
    message: str
    patch: str = ""
    changed: bool = False


@dataclass
class HeaderRoutes:
    """The one writer of a rollout's header routes; shares its actuator's route, lock and log."""

    state: RolloutState
    router: Router
    audit: AuditLog
    told: Told
    clock: Callable[[], float]
    route_seen: Callable[[RouteState], None]
    where: Where
    read_only: bool
    dry_run: bool

    def set(self, on: bool, *, origin: str, reason: str) -> RouteWrite:
        """Add (`on`) or remove the routes that send `x-monotui-track: canary|baseline` to one
        version (monotui.sources.track_routes), compare-and-set, written ahead in the audit log
        (intent, then outcome) and told as an event. Never in read-only mode; a dry run shows
        the patch and sends nothing. A conflict re-reads the route and tries once more."""
        verb = "add" if on else "remove"
        router = self.router
        if self.read_only or not isinstance(router, TrackRouter) or not router.can_write:
            return RouteWrite(False, f"read-only: the {HEADER_ROUTES} are never written")
        with self.state.router_lock:
            expected = self.state.route
            for attempt in (1, 2):
                if expected is None:
                    expected = self.router.read()
                    self.route_seen(expected)
                complete = expected.track_routes >= {"canary", "baseline"}
                if complete if on else not expected.track_routes:
                    return RouteWrite(True, f"{HEADER_ROUTES}: nothing to {verb}")
                try:
                    return self._write_track_routes(router, on, expected, origin, reason)
                except ConflictError:
                    if attempt == 2:
                        break
                    expected = None  # someone else wrote the route: look again, once
        message = f"{verb} {HEADER_ROUTES}: the route kept changing; nothing applied"
        self.told.tell(Event, message, EventLevel.ERROR)
        return RouteWrite(False, message)

    def _write_track_routes(
        self, router: TrackRouter, on: bool, expected: RouteState, origin: str, reason: str
    ) -> RouteWrite:
        verb = "add" if on else "remove"
        fields = {
            "rollout": self.where.rollout,
            "namespace": self.where.namespace,
            "context": self.where.context,
            "kube_user": self.where.kube_user,
            "resource": expected.resource,
            "action": f"{verb}_header_routes",
            "origin": origin,
            "reason": reason,
            "dry_run": self.dry_run,
        }
        try:
            intent = self.audit.intent(**fields)
        except MonotuiError as exc:
            self.told.tell(Event, f"{verb} {HEADER_ROUTES} refused: {exc}", EventLevel.ERROR)
            return RouteWrite(False, str(exc))
        try:
            written = router.set_track_routes(on, expected, dry_run=self.dry_run)
        except ConflictError as exc:
            self.audit.outcome(intent, result="failed", message=f"conflict: {exc}")
            raise
        except UncertainWriteError as exc:
            self.audit.outcome(intent, result="uncertain", message=str(exc), patch=exc.patch)
            self.told.tell(Event, f"{verb} {HEADER_ROUTES}: uncertain: {exc}", EventLevel.WARN)
            with contextlib.suppress(MonotuiError):  # under the router lock already
                self.route_seen(self.router.read())  # what is true now, on screen
            return RouteWrite(False, str(exc))
        except MonotuiError as exc:
            result = "refused" if exc.exit_code in (2, 4) else "failed"
            self.audit.outcome(intent, result=result, message=str(exc))
            self.told.tell(Event, f"{verb} {HEADER_ROUTES} failed: {exc}", EventLevel.ERROR)
            return RouteWrite(False, str(exc))
        if written.state is None:
            message = f"dry-run: {verb} {HEADER_ROUTES} would send {written.patch}"
        else:
            self.state.wrote_route(written.state, self.clock())
            done = "added ahead of the weighted route" if on else "removed"
            message = f"{HEADER_ROUTES} {done} on {expected.resource}: {reason}"
        self.audit.outcome(intent, result="ok", message=message, patch=written.patch)
        self.told.tell(Event, message)
        return RouteWrite(True, message, written.patch, changed=written.state is not None)
