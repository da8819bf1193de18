"""Where the autopilot's Lease of each rollout lives and what it carries.

One Lease per rollout, named after the resource the automation steers (the router's kind and
name), in the rollout's namespace: two configurations that name one VirtualService differently
still share one Lease, and the Lease guards exactly what it protects. A namespace-wide Lease
would let an autopilot with one configuration block another that steers other rollouts there.
"""

from __future__ import annotations

import hashlib
import re

from monotui.config import RolloutConfig

GROUP, VERSION, PLURAL = "coordination.k8s.io", "v1", "leases"
RBAC = "leases.coordination.k8s.io"
MANAGED_BY = {"app.kubernetes.io/managed-by": "monotui-autopilot"}
"""The label every autopilot Lease carries (cockpits list them with it)."""
SELECTOR = ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())
ROLLOUT_KEY = "monotui.dev/rollout"
STATE_KEY = "monotui.dev/autopilot-state"
"""The annotation that holds what a new leader needs to continue (monotui.autopilot.resume)."""
MAX_NAME = 253


def lease_name(rollout: RolloutConfig) -> str:
    """The Lease of `rollout`'s automation: `monotui-<router kind>-<router name>`, made a valid
    object name (lowercase, digits, '-' and '.'); a short hash keeps names that had to be changed
    apart."""
    wanted = f"monotui-{rollout.router.kind}-{rollout.router_name}"
    name = re.sub(r"[^a-z0-9.-]+", "-", wanted.lower()).strip("-.")
    if name == wanted and len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(wanted.encode("utf-8")).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9].rstrip('-.')}-{digest}"


def lease_path(rollout: RolloutConfig) -> str:
    """namespace/name, as events and the cockpit name it."""
    return f"{rollout.namespace}/{lease_name(rollout)}"
