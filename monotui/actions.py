"""Actions applied compare-and-set: the half of the controller that changes the world.

Every action (key, palette, CLI or automation) goes through `apply`: refused in read-only mode,
written with the weights last read as the precondition, read back, audited and told as an event.
A conflict re-reads the route and shows it; nothing is ever overwritten blindly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from monotui import plan as plans
from monotui import policy, wording
from monotui.audit import AuditLog
from monotui.config import RolloutConfig
from monotui.errors import ConfigError, ConflictError, MonotuiError, NotFoundError, ReadOnlyError
from monotui.model import Action, ActionKind, ActionResult, EventLevel, Weights
from monotui.sources.base import FlagSource, PauseStore, Router, RouteState, StepRouter

if TYPE_CHECKING:
    from monotui.controller import _State

MAX_MARKS = 100


class ActionsMixin:
    """`apply` and its helpers; mixed into Controller, whose state and sources it uses."""

    config: RolloutConfig
    router: Router
    flags: FlagSource | None
    audit: AuditLog
    clock: Callable[[], float]
    read_only: bool
    dry_run: bool
    context: str
    kube_user: str
    _state: _State
    _state_lock: threading.RLock
    _route_lock: threading.Lock

    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...
        def _route_changed(self, state: RouteState) -> None: ...
        def _read_flags(self, *, ours: bool = False) -> None: ...
        def _event(self, text: str, level: EventLevel, kind: str) -> None: ...

    def apply(self, action: Action) -> ActionResult:
        """Apply one action compare-and-set, audit it, and say what happened."""
        try:
            result = self._apply(action)
        except ConflictError as exc:
            if action.kind == ActionKind.TOGGLE_FLAG:
                # The flag source's message names the file/resource and the flag as it is now
                # (_toggle_flag has already re-read the flags).
                message = f"conflict: {exc}"
            else:
                current = self._reread()
                message = (
                    f"conflict: the route changed since it was read{wording.now_at(current.weights if current else None)}; "
                    "nothing applied"
                )
            result = ActionResult(action, False, message, exit_code=exc.exit_code)
        except MonotuiError as exc:
            result = ActionResult(action, False, str(exc), exit_code=exc.exit_code)
        self._audit(result)
        level = EventLevel.INFO if result.ok else EventLevel.ERROR
        kind = "automation" if action.origin == "automation" else "action"
        self._event(result.message, level, kind)
        return result

    def _apply(self, action: Action) -> ActionResult:
        if self.read_only:
            raise ReadOnlyError(f"read-only: {action.kind.value} refused, nothing was changed")
        if isinstance(self.router, StepRouter) and action.kind != ActionKind.TOGGLE_FLAG:
            return self._act(action, self.router)
        if action.kind in (ActionKind.PAUSE, ActionKind.RESUME):
            return self._set_paused(action)
        if action.kind == ActionKind.TOGGLE_FLAG:
            return self._toggle_flag(action)
        with self._route_lock:
            with self._state_lock:
                expected = self._state.route
                plan = self._state.plan
            if expected is None:
                expected = self.router.read()
                plan = plans.observe(plan, expected.weights.canary)
            try:
                target_plan = plans.for_action(plan, action)
            except plans.PlanError as exc:
                raise MonotuiError(str(exc)) from None
            target = Weights.canary_at(target_plan.canary_pct)
            before = expected.weights
            if target == before and action.kind != ActionKind.ROLLBACK:
                return ActionResult(
                    action, True, f"{wording.verb(action)}: already at {target}", before, before
                )
            if not self.router.can_write:
                raise ReadOnlyError(f"the {self.router.kind} router cannot write")
            written = self.router.write(target, expected, dry_run=self.dry_run)
        if written.state is None:
            return ActionResult(
                action,
                True,
                f"dry-run: {wording.verb(action)} {before} -> {target} would send {written.patch}",
                before,
                target,
                written.patch,
            )
        now = self.clock()
        with self._state_lock:
            s = self._state
            s.our_versions = frozenset({*list(s.our_versions)[-8:], written.state.version})
            s.route = written.state
            s.plan = replace(target_plan, canary_pct=written.state.weights.canary)
            if written.state.pause is not None and written.state.pause.paused != s.plan.paused:
                # A stored pause outlives a rollback or promote: only a resume lifts it.
                stored = written.state.pause.paused
                s.plan = plans.pause(s.plan) if stored else plans.resume(s.plan)
            s.weight_changes = (*s.weight_changes, (now, written.state.weights))[-MAX_MARKS:]
            s.policy = policy.reached_step(s.policy, now)
        by = wording.because(action)
        return ActionResult(
            action,
            True,
            f"{wording.verb(action)}: {before} -> {written.state.weights}{by}",
            before,
            written.state.weights,
            written.patch,
        )

    def _act(self, action: Action, router: StepRouter) -> ActionResult:
        """A router that owns its steps (Argo Rollouts) does the action with its own verbs."""
        with self._route_lock:
            with self._state_lock:
                expected = self._state.route
            if expected is None:
                expected = router.read()
                self._route_changed(expected)
            if not router.can_write:
                raise ReadOnlyError(f"the {router.kind} router cannot write")
            written = router.act(action.kind, expected, dry_run=self.dry_run)
        before = expected.weights
        if not written.patch:  # nothing to do: the router says why
            return ActionResult(action, True, written.note, before, before)
        if written.state is None:
            return ActionResult(
                action,
                True,
                f"dry-run: {written.note} would send {written.patch}",
                before,
                None,
                written.patch,
            )
        with self._state_lock:
            s = self._state
            s.our_versions = frozenset({*list(s.our_versions)[-8:], written.state.version})
        self._route_changed(written.state)
        by = wording.because(action)
        return ActionResult(
            action, True, f"{written.note}{by}", before, written.state.weights, written.patch
        )

    def _set_paused(self, action: Action) -> ActionResult:
        """Pause/resume the automation: stored with the route when the router can (every monotui
        then sees it), else in this process's memory (the TUI) or refused (a one-shot command)."""
        with self._state_lock:
            route = self._state.route
        if route is None:
            with self._route_lock:
                route = self.router.read()
            self._route_changed(route)
        if route.pause is None or not isinstance(self.router, PauseStore):
            if action.origin == "cli":
                raise ConfigError(
                    f"the {self.router.kind} router cannot store a pause, so a one-shot "
                    f"{action.kind.value} would last only as long as this command: pause in the "
                    "cockpit (p) instead"
                )
            return self._pause_in_memory(action)
        if not self.router.can_write:
            raise ReadOnlyError(f"the {self.router.kind} router cannot write")
        pause = action.kind == ActionKind.PAUSE
        word = "paused" if pause else "resumed"
        weights = route.weights
        for attempt in (1, 2):
            stored = route.pause
            if stored is not None and stored.paused == pause:
                by = f" by {stored.by}" if pause and stored.by else ""
                return ActionResult(
                    action, True, f"automation already {word}{by}", weights, weights
                )
            try:
                with self._route_lock:
                    written = self.router.set_pause(
                        pause, self._paused_by(action), route, dry_run=self.dry_run
                    )
            except ConflictError:
                # Someone changed the stored pause since it was read: look again, once.
                if attempt == 2:
                    raise
                with self._route_lock:
                    route = self.router.read()
                self._route_changed(route)
                continue
            break
        if written.state is None:
            return ActionResult(
                action,
                True,
                f"dry-run: automation {word} would send {written.patch}",
                weights,
                weights,
                written.patch,
            )
        with self._state_lock:
            s = self._state
            s.our_versions = frozenset({*list(s.our_versions)[-8:], written.state.version})
            s.route = written.state
            s.plan = plans.pause(s.plan) if pause else plans.resume(s.plan)
        where = f"stored on {written.state.resource}, every monotui sees it"
        by = wording.because(action)
        return ActionResult(
            action, True, f"automation {word}{by}; {where}", weights, weights, written.patch
        )

    def _paused_by(self, action: Action) -> str:
        """Who paused and why, stored with the pause for every other instance to show."""
        who = self.kube_user or self.audit.user
        why = action.reason or {"key": "p in the cockpit"}.get(action.origin, action.origin)
        return f"{who}: {why}"

    def _pause_in_memory(self, action: Action) -> ActionResult:
        with self._state_lock:
            s = self._state
            was = s.plan.paused
            s.plan = (
                plans.pause(s.plan) if action.kind == ActionKind.PAUSE else plans.resume(s.plan)
            )
            weights = s.route.weights if s.route else None
        word = "paused" if action.kind == ActionKind.PAUSE else "resumed"
        if was == (action.kind == ActionKind.PAUSE):
            return ActionResult(action, True, f"automation already {word}", weights, weights)
        by = wording.because(action)
        return ActionResult(action, True, f"automation {word}{by}", weights, weights)

    def _toggle_flag(self, action: Action) -> ActionResult:
        key = action.flag_key or ""
        if self.flags is None:
            raise ConfigError(
                f"rollout {self.name} has no flag source: set [rollouts.flags] kind and where"
            )
        if not self.flags.can_write:
            raise ReadOnlyError(
                f"flags from {self.flags.kind} are read-only: cannot toggle '{key}'"
            )
        with self._state_lock:
            expected = self._state.flagset
        if expected is None:
            expected = self.flags.read()
        flag = next((f for f in expected.flags if f.key == key), None)
        if flag is None:
            known = ", ".join(f.key for f in expected.flags) or "none"
            raise NotFoundError(f"no flag '{key}' in {self.flags.kind} (known: {known})")
        change = flag.toggle or "toggled"
        try:
            patch = self.flags.toggle(key, expected, dry_run=self.dry_run)
        finally:
            self._read_flags(ours=True)
        if self.dry_run:
            return ActionResult(
                action, True, f"dry-run: flag {key} {change} would send {patch}", patch=patch
            )
        by = wording.because(action)
        return ActionResult(action, True, f"flag {key}: {change}{by}", patch=patch)

    def _reread(self) -> RouteState | None:
        try:
            with self._route_lock:
                state = self.router.read()
        except MonotuiError:
            return None
        self._route_changed(state)
        return state

    def _audit(self, result: ActionResult) -> None:
        action = result.action
        with self._state_lock:
            resource = (
                self._state.route.resource
                if self._state.route
                else getattr(self.router, "resource", self.router.kind)
            )
        self.audit.record(
            rollout=self.name,
            namespace=self.config.namespace,
            context=self.context,
            kube_user=self.kube_user,
            resource=f"flag {action.flag_key}" if action.flag_key else resource,
            action=action.kind.value,
            origin=action.origin,
            reason=action.reason,
            before=str(result.before) if result.before else None,
            after=str(result.after) if result.after else None,
            result="ok" if result.ok else "refused" if result.exit_code else "failed",
            message=result.message,
            dry_run=self.dry_run,
            patch=result.patch,
        )
