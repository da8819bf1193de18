"""OpenFeature operator FeatureFlags attached by a guess to the discovered rollouts the operator's
own binding (`openfeature`) decided nothing for.

A FeatureFlag (core.openfeature.dev) in a rollout's namespace is that rollout's flag source when
its name is the rollout's (or the rollout's name with a "-flags" suffix), else when its `app` or
`app.kubernetes.io/name` label is the rollout's name or the same label of the rollout's own
resource. A rollout takes one FeatureFlag: a name match first, then the first label match by
name; the others are noted. A config file can attach any other (`[rollouts.flags]`).
"""

from __future__ import annotations

from typing import Any

from monotui.sources.discovery.found import Found

LABELS = ("app.kubernetes.io/name", "app")


def attach_flags(found: list[Found], flags: list[dict[str, Any]]) -> None:
    """Give each rollout the FeatureFlag that shares its name or labels (see the module)."""
    for rollout in found:
        matches = sorted(
            (rank, name, why)
            for obj in flags
            if (meta := obj.get("metadata") or {}).get("namespace") == rollout.namespace
            for name in [str(meta.get("name") or "")]
            if (match := _match(rollout, name, meta.get("labels"))) is not None
            for rank, why in [match]
        )
        if not matches:
            continue
        _, name, why = matches[0]
        rollout.flags = {"kind": "featureflag", "name": name}
        others = ", ".join(n for _, n, _ in matches[1:])
        also = f" (also sharing it: {others}; attach one in the config to choose)" if others else ""
        rollout.note("flags.name", f"featureflag {rollout.namespace}/{name} {why}{also}")


def _match(rollout: Found, name: str, labels: Any) -> tuple[int, str] | None:
    if name in (rollout.name, f"{rollout.name}-flags"):
        return 0, f"is named after {rollout.owner}"
    if not isinstance(labels, dict):
        return None
    for key in LABELS:
        value = labels.get(key)
        if value is None:
            continue
        if value == rollout.name:
            return 1, f"has the label {key}={value}, the rollout's name"
        if rollout.labels.get(key) == value:
            return 1, f"shares the label {key}={value} with {rollout.owner}"
    return None
