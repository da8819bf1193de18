"""What a test makes go wrong: RBAC-style deny rules (403) and injected failures or drops."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tests.fakekube.apis import Target
from tests.fakekube.status import ApiError

__all__ = ["Fault", "Faults", "forbidden"]


@dataclass
class _DenyRule:
    verb: str | None
    plural: str | None
    namespace: str | None
    group: str | None
    name: str | None

    def matches(self, verb: str, resource: str, t: Target) -> bool:
        wanted = (self.verb, self.plural, self.namespace, self.group, self.name)
        actual = (verb, resource, t.namespace, t.resource.group, t.name)
        return all(w is None or w == a for w, a in zip(wanted, actual, strict=True))


@dataclass
class Fault:
    """Fail the next ``remaining`` requests (of ``method``, if set) with ``status``, or drop them."""

    remaining: int
    status: int
    method: str | None
    message: str | None
    retry_after: int | None
    drop: bool


class Faults:
    """The deny rules and pending faults, guarded by the fake's one lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._denies: list[_DenyRule] = []
        self._faults: list[Fault] = []

    def deny(
        self,
        verb: str | None,
        plural: str | None,
        namespace: str | None,
        group: str | None,
        name: str | None,
    ) -> None:
        with self._lock:
            self._denies.append(_DenyRule(verb, plural, namespace, group, name))

    def allow_all(self) -> None:
        with self._lock:
            self._denies.clear()

    def denied(self, verb: str, resource: str, t: Target) -> bool:
        """Whether a deny rule matches this verb on this resource (``plural[/subresource]``)."""
        with self._lock:
            return any(rule.matches(verb, resource, t) for rule in self._denies)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str) -> Fault | None:
        """The first pending fault for ``method``, counted as used (dropped when used up)."""
        with self._lock:
            fault = next((f for f in self._faults if f.method in (None, method)), None)
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault


def forbidden(verb: str, resource: str, t: Target, user: str) -> ApiError:
    """The 403 the apiserver's RBAC authorizer answers, naming the user, verb and scope."""
    scope = f'in the namespace "{t.namespace}"' if t.namespace else "at the cluster scope"
    who = f'{t.resource.qualified} "{t.name}"' if t.name else t.resource.qualified
    return ApiError(
        403,
        f'{who} is forbidden: User "{user}" cannot {verb} resource '
        f'"{resource}" in API group "{t.resource.group}" {scope}',
        details=t.resource.details(t.name),
    )
