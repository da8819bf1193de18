"""The actuator of one rollout: the only part that changes the world.

Every action (key, palette, CLI or automation) goes through `apply`: refused in read-only mode,
written compare-and-set against the route (or flags) as last read, read back, audited and told as
an event. A conflict re-reads the route and shows it; nothing is ever overwritten blindly.

The audit is written ahead (monotui.rollout.ledger): the intent is recorded right before each
write and the write is refused when it cannot be; the outcome follows. A write whose answer was
lost is "uncertain" (never "failed": it may have been applied), and the route is read again. No
exception escapes `apply`: one that is not a MonotuiError (a bug) still gets its outcome.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace

from monotui import plan as plans
from monotui import wording
from monotui.audit import AuditLog
from monotui.config import RolloutConfig
from monotui.errors import (
    ConfigError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    ReadOnlyError,
    UncertainWriteError,
)
from monotui.model import (
    Action,
    ActionEvent,
    ActionKind,
    ActionResult,
    AutomationPaused,
    EventLevel,
    Weights,
)
from monotui.outside_text import literal
from monotui.rollout.header_routes import HeaderRoutes, RouteWrite
from monotui.rollout.ledger import Entry, Ledger, Where
from monotui.rollout.state import RolloutState
from monotui.rollout.told import Told
from monotui.sources.base import (
    FlagSource,
    PauseStore,
    Router,
    RouteState,
    StepRouter,
)

log = logging.getLogger(__name__)

RouteSeen = Callable[[RouteState], None]
"""Where a re-read route goes (the observer records it and tells what changed elsewhere)."""
PAUSED_BY_MAX = 240
KNOWN_FLAGS_SHOWN = 20


def flag_name(key: str) -> str:
    """A flag key in a message: literal, its line breaks spelled (`a\\nb` is not `a b`)."""
    return literal(key, max_len=80, spell_breaks=True)


class Actuator:
    """Applies actions to one rollout, compare-and-set. Thread-safe."""

    def __init__(
        self,
        config: RolloutConfig,
        *,
        state: RolloutState,
        router: Router,
        flags: FlagSource | None,
        audit: AuditLog,
        clock: Callable[[], float],
        told: Told,
        route_seen: RouteSeen,
        read_only: bool = False,
        dry_run: bool = False,
        context: str = "",
        kube_user: str = "",
    ) -> None:
        self.config = config
        self.state = state
        self.router = router
        self.flags = flags
        self.audit = audit
        self.clock = clock
        self.told = told
        self.route_seen = route_seen
        self.read_only = read_only
        self.dry_run = dry_run
        self.context = context
        self.kube_user = kube_user
        where = Where(config.name, config.namespace, context, kube_user)
        self.ledger = Ledger(audit, where, dry_run=dry_run)
        self.header_routes = HeaderRoutes(
            state, router, audit, told, clock, route_seen, where, read_only, dry_run
        )

    @property
    def name(self) -> str:
        return self.config.name

    def apply(self, action: Action) -> ActionResult:
        """Apply one action compare-and-set, audit it, and say what happened. Never raises."""
        entry = self.ledger.entry(action)
        result = self._guarded(action, entry)
        warning = entry.finish(result, self._resource())
        if warning:
            result = replace(result, message=f"{result.message}; {warning}")
        level = EventLevel.INFO if result.ok else EventLevel.ERROR
        self.told.tell(ActionEvent, result.message, level, result=result)
        ended = (ActionKind.ROLLBACK, ActionKind.PROMOTE)
        if result.ok and result.changed and action.kind in ended and not self.dry_run:
            route = self.state.route
            if route is not None and route.track_routes:  # the rollout is over: probes stop
                self.set_track_routes(False, origin=action.origin, reason=f"after {action.kind}")
        if result.ok and result.changed and action.kind in (ActionKind.PAUSE, ActionKind.RESUME):
            paused = action.kind == ActionKind.PAUSE
            by = self._paused_by(action) if paused else ""
            text = f"automation paused: {by}" if paused else "automation resumed"
            self.told.tell(AutomationPaused, text, paused=paused, by=by, action=action.kind)
        return result

    def _guarded(self, action: Action, entry: Entry) -> ActionResult:
        """The action's result, whatever went wrong on the way."""
        try:
            return self._apply(action, entry)
        except ConflictError as exc:
            if action.kind == ActionKind.TOGGLE_FLAG:
                # The flag source's message names the file/resource and the flag as it is now.
                message = f"conflict: {exc}"
            else:
                current = self._reread()
                now = wording.now_at(current.weights if current else None)
                message = f"conflict: the route changed since it was read{now}; nothing applied"
            return ActionResult(action, False, message, exit_code=exc.exit_code)
        except UncertainWriteError as exc:
            # Sent, unanswered: never "failed". Read it again so the screen shows what is true.
            self._reread_after_uncertain(action)
            message = f"uncertain: check the route: {exc}"
            return ActionResult(
                action, False, message, patch=exc.patch, exit_code=exc.exit_code, uncertain=True
            )
        except MonotuiError as exc:
            return ActionResult(action, False, str(exc), exit_code=exc.exit_code)
        except Exception as exc:  # a bug: the audit gets its outcome, the user one line
            log.exception("%s %s failed", action.kind.value, self.name)
            sent = entry.intent_id is not None
            if sent:
                self._reread_after_uncertain(action)
            where = "; check the route, it is read again" if sent else "; nothing was sent"
            message = (
                f"{wording.verb(action)} failed: unexpected {type(exc).__name__}: "
                f"{literal(exc, max_len=200)}{where}"
            )
            return ActionResult(action, False, message, exit_code=1)

    def _reread_after_uncertain(self, action: Action) -> None:
        if action.kind == ActionKind.TOGGLE_FLAG:
            self._reread_flags()
        else:
            self._reread()

    def _resource(self) -> str:
        route = self.state.route
        return route.resource if route else getattr(self.router, "resource", self.router.kind)

    def _apply(self, action: Action, entry: Entry) -> ActionResult:
        if self.read_only:
            raise ReadOnlyError(f"read-only: {action.kind.value} refused, nothing was changed")
        if isinstance(self.router, StepRouter) and action.kind != ActionKind.TOGGLE_FLAG:
            return self._act(action, self.router, entry)
        if action.kind in (ActionKind.PAUSE, ActionKind.RESUME):
            return self._set_paused(action, entry)
        if action.kind == ActionKind.TOGGLE_FLAG:
            return self._toggle_flag(action, entry)
        return self._move(action, entry)

    # --- weights -------------------------------------------------------------------------------

    def _move(self, action: Action, entry: Entry) -> ActionResult:
        with self.state.router_lock:
            known = self.state.known()
            expected, plan = known.route, known.plan
            if expected is None:
                expected = self.router.read()
                plan = self.state.observe_plan(expected.weights.canary)
            try:
                target_plan = plans.for_action(plan, action)
            except plans.PlanError as exc:
                raise MonotuiError(str(exc)) from None
            target = Weights.canary_at(target_plan.canary_pct)
            before = expected.weights
            if target == before and action.kind != ActionKind.ROLLBACK:
                verb = wording.verb(action)
                message = f"{verb}: already at {target}"
                return ActionResult(action, True, message, before, before, changed=False)
            if not self.router.can_write:
                raise ReadOnlyError(f"the {self.router.kind} router cannot write")
            if not self.dry_run:
                entry.intend(
                    resource=expected.resource,
                    before=str(before),
                    target=str(target),
                    version=expected.version,
                )
            written = self.router.write(target, expected, dry_run=self.dry_run)
        if written.state is None:
            verb = wording.verb(action)
            message = f"dry-run: {verb} {before} -> {target} would send {written.patch}"
            return ActionResult(action, True, message, before, target, written.patch, changed=False)
        self.state.wrote_route(written.state, self.clock(), target_plan)
        after = written.state.weights
        message = f"{wording.verb(action)}: {before} -> {after}{wording.because(action)}"
        return ActionResult(action, True, message, before, after, written.patch)

    def _act(self, action: Action, router: StepRouter, entry: Entry) -> ActionResult:
        """A router that owns its steps (Argo Rollouts) does the action with its own verbs."""
        with self.state.router_lock:
            expected = self.state.route
            if expected is None:
                expected = router.read()
                self.route_seen(expected)
            if not router.can_write:
                raise ReadOnlyError(f"the {router.kind} router cannot write")
            if not self.dry_run:
                entry.intend(
                    resource=expected.resource,
                    before=str(expected.weights),
                    target=None,  # the router owns its steps: it says where it goes
                    version=expected.version,
                )
            written = router.act(action.kind, expected, dry_run=self.dry_run)
        before = expected.weights
        if not written.patch:  # nothing to do: the router says why
            return ActionResult(action, True, written.note, before, before, changed=False)
        if written.state is None:
            message = f"dry-run: {written.note} would send {written.patch}"
            return ActionResult(action, True, message, before, None, written.patch, changed=False)
        self.state.wrote_route(written.state, self.clock())
        after = written.state.weights
        message = f"{written.note}{wording.because(action)}"
        return ActionResult(action, True, message, before, after, written.patch)

    # --- the automation pause ------------------------------------------------------------------

    def _set_paused(self, action: Action, entry: Entry) -> ActionResult:
        """Pause/resume the automation: stored with the route when the router can (every monotui
        then sees it), else in this process's memory (the TUI) or refused (a one-shot command)."""
        route = self.state.route
        if route is None:
            with self.state.router_lock:
                route = self.router.read()
            self.route_seen(route)
        if route.pause is None or not isinstance(self.router, PauseStore):
            if action.origin == "cli":
                raise ConfigError(
                    f"the {self.router.kind} router cannot store a pause, so a one-shot "
                    f"{action.kind.value} would last only as long as this command: pause in the "
                    "cockpit (p) instead"
                )
            return self._pause_in_memory(action, route.weights)
        if not self.router.can_write:
            raise ReadOnlyError(f"the {self.router.kind} router cannot write")
        pause = action.kind == ActionKind.PAUSE
        word = "paused" if pause else "resumed"
        weights = route.weights
        for attempt in (1, 2):
            stored = route.pause
            if stored is not None and stored.paused == pause:
                by = f" by {stored.by}" if pause and stored.by else ""
                message = f"automation already {word}{by}"
                return ActionResult(action, True, message, weights, weights, changed=False)
            if not self.dry_run:
                entry.intend(
                    resource=route.resource,
                    before=str(weights),
                    target=str(weights),
                    version=route.version,
                )
            try:
                with self.state.router_lock:
                    written = self.router.set_pause(
                        pause, self._paused_by(action), route, dry_run=self.dry_run
                    )
            except ConflictError:
                # Someone changed the stored pause since it was read: look again, once.
                if attempt == 2:
                    raise
                with self.state.router_lock:
                    route = self.router.read()
                self.route_seen(route)
                continue
            break
        if written.state is None:
            message = f"dry-run: automation {word} would send {written.patch}"
            return ActionResult(
                action, True, message, weights, weights, written.patch, changed=False
            )
        self.state.wrote_pause(written.state, pause)
        where = f"stored on {written.state.resource}, every monotui sees it"
        message = f"automation {word}{wording.because(action)}; {where}"
        return ActionResult(action, True, message, weights, weights, written.patch)

    def _paused_by(self, action: Action) -> str:
        """Who paused and why, stored with the pause for every other instance to show: anyone
        who can read the route reads it, so no credential may be in it (a URL's password in the
        metrics error behind an automatic pause), and it is one literal line."""
        who = self.kube_user or self.audit.user
        why = action.reason or {"key": "p in the cockpit"}.get(action.origin, action.origin)
        return literal(self.audit.scrub(f"{who}: {why}"), max_len=PAUSED_BY_MAX)

    def _pause_in_memory(self, action: Action, weights: Weights) -> ActionResult:
        pause = action.kind == ActionKind.PAUSE
        word = "paused" if pause else "resumed"
        if self.state.set_paused(pause):
            message = f"automation already {word}"
            return ActionResult(action, True, message, weights, weights, changed=False)
        message = f"automation {word}{wording.because(action)}"
        return ActionResult(action, True, message, weights, weights)

    # --- flags ---------------------------------------------------------------------------------

    def _toggle_flag(self, action: Action, entry: Entry) -> ActionResult:
        key = action.flag_key or ""
        shown = flag_name(key)
        if self.flags is None:
            raise ConfigError(
                f"rollout {self.name} has no flag source: set [rollouts.flags] kind and where"
            )
        if not self.flags.can_write:
            raise ReadOnlyError(
                f"flags from {self.flags.kind} are read-only: cannot toggle '{shown}'"
            )
        expected = self.state.flagset or self.flags.read()
        flag = next((f for f in expected.flags if f.key == key), None)
        if flag is None:
            keys = [flag_name(f.key) for f in expected.flags]
            more = (
                f", and {len(keys) - KNOWN_FLAGS_SHOWN} more"
                if len(keys) > KNOWN_FLAGS_SHOWN
                else ""
            )
            known = ", ".join(keys[:KNOWN_FLAGS_SHOWN]) + more or "none"
            raise NotFoundError(f"no flag '{shown}' in {self.flags.kind} (known: {known})")
        change = flag.toggle or "toggled"
        if not self.dry_run:
            entry.intend(
                resource=f"{self.flags.kind} flags",
                before=f"{flag.state} {flag.default_variant}",
                target=change,
                version=expected.version,
            )
        try:
            patch = self.flags.toggle(key, expected, dry_run=self.dry_run)
        finally:
            self._reread_flags()
        if self.dry_run:
            message = f"dry-run: flag {shown} {change} would send {patch}"
            return ActionResult(action, True, message, patch=patch, changed=False)
        message = f"flag {shown}: {change}{wording.because(action)}"
        return ActionResult(action, True, message, patch=patch)

    def _reread_flags(self) -> None:
        """The flags after our toggle (or its conflict): recorded as ours, not as news."""
        if self.flags is None:
            return
        with contextlib.suppress(MonotuiError):  # the next observation reports the problem
            self.state.saw_flags(self.flags.read(), self.clock())

    def _reread(self) -> RouteState | None:
        try:
            with self.state.router_lock:
                state = self.router.read()
        except MonotuiError:
            return None
        self.route_seen(state)
        return state

    def set_track_routes(self, on: bool, *, origin: str, reason: str) -> RouteWrite:
        """Add (`on`) or remove the synthetic probes' header routes (see HeaderRoutes)."""
        return self.header_routes.set(on, origin=origin, reason=reason)
