"""The audit trail of one rollout's actions, written ahead of every write.

Each action gets an `Entry`. A path that is about to write (a PATCH, a flag toggle, a stored
pause) calls `entry.intend(...)` first: the intent line is on disk (fsynced) before anything is
sent, and when it cannot be recorded `intend` raises AuditError, so the write never goes out.
When the action ends, `entry.finish(result)` records its outcome against that intent: `ok`,
`refused` (nothing was applied: a conflict, read-only, RBAC, a bad request, the audit itself),
`failed` (something broke, nothing is known to be applied) or `uncertain` (the write went out
and its answer was lost: it MAY have been applied; the patch is recorded).

An action that never writes (refused before any write, read-only, a dry-run, nothing to do, a
pause kept in memory) has no intent: it is one line (`AuditLog.record`) with its result, so the
log still says what was asked and why nothing happened. A process killed between intent and
outcome leaves the intent as the last record, which `read_audit` reports as uncertain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monotui.audit import AuditError, AuditLog
from monotui.model import Action, ActionResult

REFUSED_EXIT_CODES = frozenset({2, 3, 4})
"""Exit codes of errors that mean "nothing was applied, on purpose": config or not found (2),
conflict (3), permission, read-only or audit refusal (4)."""


def outcome_of(result: ActionResult) -> str:
    """The audit result of an action: ok, uncertain, refused or failed."""
    if result.ok:
        return "ok"
    if result.uncertain:
        return "uncertain"
    return "refused" if result.exit_code in REFUSED_EXIT_CODES else "failed"


@dataclass(frozen=True, slots=True)
class Where:
    """Who acts on which rollout, stamped on every record."""

    rollout: str
    namespace: str
    context: str
    kube_user: str


class Ledger:
    """Hands out one `Entry` per action of one rollout."""

    def __init__(self, audit: AuditLog, where: Where, *, dry_run: bool) -> None:
        self.audit = audit
        self.where = where
        self.dry_run = dry_run

    def entry(self, action: Action) -> Entry:
        return Entry(self, action)


@dataclass
class Entry:
    """The audit records of one action: at most one open intent at a time."""

    ledger: Ledger
    action: Action
    intent_id: str | None = None
    intent_failed: bool = False
    resource: str = ""

    def intend(
        self, *, resource: str, before: str | None, target: str | None, version: str
    ) -> None:
        """Record what is about to be written; AuditError when it cannot be (then do not write).

        An intent still open (a retry after a conflict) is closed first as refused.
        """
        self.resource = resource
        try:
            if self.intent_id is not None:
                message = "conflict: read again and retried"
                self._outcome(self.intent_id, result="refused", message=message)
            self.intent_id = self.ledger.audit.intent(
                **self._common(resource),
                before=before,
                after=target,
                expected_version=version,
            )
        except AuditError:
            self.intent_failed = True
            raise

    def finish(self, result: ActionResult, resource: str) -> str:
        """Record how the action ended; returns "" or a sentence for the user when the audit log
        could not record it (the action happened, or not, regardless)."""
        if self.intent_failed:
            return ""  # the refusal is the audit's own: nothing more can be written there
        fields: dict[str, Any] = {
            "after": str(result.after) if result.after else None,
            "message": result.message,
            "patch": result.patch,
            "exit_code": result.exit_code,
        }
        try:
            if self.intent_id is not None:
                self._outcome(self.intent_id, result=outcome_of(result), **fields)
            else:
                self.ledger.audit.record(
                    **self._common(self.resource or resource),
                    before=str(result.before) if result.before else None,
                    result=outcome_of(result),
                    **fields,
                )
        except AuditError as exc:
            return f"the audit log could not record this: {exc}"
        return ""

    def _outcome(self, intent_id: str, **fields: Any) -> None:
        self.intent_id = None
        self.ledger.audit.outcome(intent_id, **fields)

    def _common(self, resource: str) -> dict[str, Any]:
        where, action = self.ledger.where, self.action
        return {
            "rollout": where.rollout,
            "namespace": where.namespace,
            "context": where.context,
            "kube_user": where.kube_user,
            "resource": f"flag {action.flag_key}" if action.flag_key else resource,
            "action": action.kind.value,
            "origin": action.origin,
            "reason": action.reason,
            "dry_run": self.ledger.dry_run,
        }
