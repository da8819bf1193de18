"""What discovery found: one `Found` per rollout, as a `[[rollouts]]` table of the config schema
with how each value was inferred, and the whole `Discovery`.

Provenance (`Found.source`) maps a dotted key of the table ("router.stable", "metrics.baseline")
to one sentence saying where the value came from ("spec.strategy.canary.stableService of rollout
default/rollouts-demo"). `status --json` shows it as each rollout's `source`, the help screen and
`monotui discover` beside the values, so a wrong guess is visible and can be overridden in the
config file (an overridden key's source then names the file).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Ref = tuple[str, str, str]
"""(plural, namespace, name) of a routed resource."""


@dataclass(frozen=True, slots=True)
class PodTemplate:
    """Where a rollout's pods come from, for the annotations the OpenFeature operator reads:
    the template itself (an Argo Rollout's `spec.template`), or a Deployment in the rollout's
    namespace whose template it is (`spec.workloadRef`, a Flagger Canary's `targetRef`)."""

    what: str
    """In words: "the pod template of rollout default/demo", "Deployment test/podinfo"."""
    annotations: Mapping[str, str] | None = None
    """The template's annotations; None: read them from `deployment`."""
    deployment: str | None = None


@dataclass(frozen=True, slots=True)
class Backend:
    """A Service a bare route sends one version to, and the pod labels that pick that version
    among the Service's pods (a DestinationRule subset's; none for a host split)."""

    role: str  # "canary" or "stable"
    service: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Found:
    """One discovered rollout."""

    name: str
    namespace: str
    owner: str
    """What a human calls the resource it was found as: "rollout default/rollouts-demo"."""
    router: dict[str, Any]
    metrics: dict[str, Any]
    """The inferred `[rollouts.metrics]` (Prometheus); used when a Prometheus is known."""
    source: dict[str, str] = field(default_factory=dict)
    steps: tuple[int, ...] | None = None
    flags: dict[str, Any] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """The owning resource's labels, to attach flags that share them."""
    owns: frozenset[Ref] = frozenset()
    """The routes it steers: never listed again as rollouts of their own."""
    pods: PodTemplate | None = None
    """Where its pods come from; None: unknown (no operator binding is looked for)."""
    backends: tuple[Backend, ...] = ()
    """A bare route's Services, canary first: its pods are the Deployments behind them."""

    def table(self, *, metrics: bool = True) -> dict[str, Any]:
        """The `[[rollouts]]` table; `metrics` False: kind none (no Prometheus to ask)."""
        table: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "policy": "manual",
            "router": copy.deepcopy(self.router),
            "metrics": copy.deepcopy(self.metrics) if metrics else {"kind": "none"},
        }
        if self.steps is not None:
            table["steps"] = list(self.steps)
        if self.flags is not None:
            table["flags"] = copy.deepcopy(self.flags)
        return table

    def note(self, key: str, how: str) -> None:
        self.source[key] = how


@dataclass
class Discovery:
    """Everything one discovery run found, and what it could not look at."""

    scope: str
    found: list[Found] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per kind the kube user may not list (its missing permission)."""
    absent: list[str] = field(default_factory=list)
    """Kinds the cluster does not serve (not installed)."""
    passed: list[str] = field(default_factory=list)
    """Resources looked at and not taken, each with why ("rollout x: blueGreen strategy")."""

    def lines(self) -> list[str]:
        """What a user must read besides the rollouts: one line per kind skipped for RBAC."""
        return list(self.skipped)

    def absent_line(self) -> str:
        """The kinds this cluster does not serve, in one line ("" when it serves them all)."""
        if not self.absent:
            return ""
        return f"not served by this cluster (not installed): {', '.join(self.absent)}"
