"""A fleet across clusters: which clusters a session watches (`--context a,b,c`, or `[[clusters]]`
in the config), the rollouts of each (a rollout without `cluster` runs in every one, named
`name@cluster` when there are several), and each cluster's badge colour (k9s-style: a context
with "prod" in its name is red unless configured otherwise).

Pure: no I/O. The registry's BuildContext connects to each cluster on first use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monotui.config import CLUSTER_NAME, ClusterConfig, Config, RolloutConfig
from monotui.errors import ConfigError
from monotui.model.fleet import ClusterBadge

PROD_COLOR = "red"
COLORS = ("cyan", "magenta", "blue", "bright_cyan", "bright_magenta", "orchid")
"""Badge colours of the other clusters: none of them is a verdict's (red, green, yellow)."""


def contexts_of(option: str | None) -> tuple[str, ...]:
    """`--context a,b,c` as its contexts (empty: the option was not given)."""
    if not option:
        return ()
    names = tuple(c.strip() for c in option.split(","))
    if any(not n for n in names):
        raise ConfigError(f"--context {option!r}: a context name is empty (write a,b,c)")
    if len(names) > 1:
        odd = next((n for n in names if not re.fullmatch(CLUSTER_NAME, n)), None)
        if odd is not None:
            raise ConfigError(
                f"--context {odd!r}: not a context name a fleet can show (letters, digits, "
                "_ . : / @ -); give it a name in [[clusters]] with context = its name"
            )
    return names


def selected(config: Config, contexts: Sequence[str]) -> list[ClusterConfig]:
    """The clusters of the session: the `--context` list when it names several (a configured
    cluster of that name or context keeps its Prometheus and colour), one of the configured
    clusters when it names one of them, else every configured cluster."""
    if len(contexts) > 1 or (contexts and config.clusters):
        chosen = []
        for name in contexts:
            known = next(
                (c for c in config.clusters if name in (c.name, c.context)),
                None,
            )
            if known is None and config.clusters and len(contexts) == 1:
                names = ", ".join(c.name for c in config.clusters)
                raise ConfigError(f"--context {name}: not one of the configured clusters ({names})")
            chosen.append(known or ClusterConfig(name=name, context=name))
        return chosen
    return list(config.clusters)


def fleet_of(config: Config, contexts: Sequence[str] = ()) -> Config:
    """`config` with every rollout placed in its cluster (its `cluster` set), for the clusters
    of the session; unchanged without clusters."""
    clusters = selected(config, contexts)
    if not clusters:
        return config
    names = [c.name for c in clusters]
    several = len(clusters) > 1
    rollouts: list[RolloutConfig] = []
    for rollout in config.rollouts:
        if rollout.cluster is not None:
            if rollout.cluster in names:
                rollouts.append(rollout)
            continue
        for cluster in clusters:
            update: dict[str, object] = {"cluster": cluster.name}
            if several:
                update |= _renamed(rollout, f"{rollout.name}@{cluster.name}")
            rollouts.append(rollout.model_copy(update=update))
    taken = [r.name for r in rollouts]
    clash = sorted({n for n in taken if taken.count(n) > 1})
    if clash:
        raise ConfigError(f"rollout names clash across clusters: {', '.join(clash)}")
    return config.model_copy(update={"clusters": clusters, "rollouts": rollouts})


def _renamed(rollout: RolloutConfig, name: str) -> dict[str, object]:
    """The changes that rename `rollout` while it still names the same objects: what defaulted
    to its name (the routed resource, the metrics service, a flag resource) keeps the old one."""
    update: dict[str, object] = {"name": name}
    for family in ("router", "metrics", "flags"):
        settings = getattr(rollout, family)
        fields = type(settings).model_fields
        pinned = {
            k: rollout.name for k in ("name", "service") if k in fields and not getattr(settings, k)
        }
        if pinned:
            update[family] = settings.model_copy(update=pinned)
    return update


def badges(config: Config) -> tuple[ClusterBadge, ...]:
    """Each cluster's name and badge colour, in the config's order."""
    out = []
    others = 0
    for cluster in config.clusters:
        if cluster.color:
            color = cluster.color
        elif "prod" in cluster.name.lower():
            color = PROD_COLOR
        else:
            color = COLORS[others % len(COLORS)]
            others += 1
        out.append(ClusterBadge(cluster.name, color))
    return tuple(out)


def for_session(config: Config, context_option: str | None) -> tuple[Config, str | None]:
    """The configuration a session builds (its rollouts placed in their clusters) and the one
    kubeconfig context it uses when it is not a multi-cluster fleet (`--context` as given)."""
    contexts = contexts_of(context_option)
    fleet = fleet_of(config, contexts)
    return fleet, None if fleet.clusters else context_option
