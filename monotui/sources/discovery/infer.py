"""The inference rules discovery shares: which of two destinations is the stable one, a host's
service and namespace, and the metrics settings of each kind of split. Pure.

Metrics are Istio's standard ones (`istio_requests_total`, reporter="destination"); what tells the
two versions apart depends on how the traffic is split:
- a subset split (one host, two DestinationRule subsets): `destination_version` and the value of
  the subsets' `version` label (Istio reads the pods' `version` or `app.kubernetes.io/version`
  label into it), service = the host;
- a host split (two Services, as Argo Rollouts and Gateway API backends do):
  `destination_service_name` with the two Service names;
- Flagger: `destination_workload` with the `<target>-primary` and `<target>` Deployments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

VERSION_KEYS = ("version", "app.kubernetes.io/version")
"""Pod labels Istio reports as destination_version."""

_STABLE_WORDS = ("stable", "primary", "main", "blue")
_CANARY_WORDS = ("canary", "preview", "next", "green")


def short_host(host: str, namespace: str) -> tuple[str, str]:
    """(service, namespace) of a destination host as Istio resolves it from `namespace`:
    "reviews" and "reviews.bookinfo.svc.cluster.local" are both reviews in bookinfo."""
    parts = host.split(".")
    if len(parts) >= 2 and (len(parts) == 2 or parts[2] == "svc"):
        return parts[0], parts[1]
    return host, namespace


def roles(names: Sequence[str], weights: Sequence[int]) -> tuple[int, int, str]:
    """Which of two destinations is the stable one: (stable index, canary index, the rule used).

    By name first (a "canary"/"preview" word; "stable"/"primary"), then by version number ("v1"
    before "v2"), then by weight (the heavier one is stable, the first on a tie).
    """
    lowered = [n.lower() for n in names]
    for i in (0, 1):
        other = 1 - i
        if _has_word(lowered[other], _CANARY_WORDS) and not _has_word(lowered[i], _CANARY_WORDS):
            return i, other, f"'{names[other]}' names the canary"
        if _has_word(lowered[i], _STABLE_WORDS) and not _has_word(lowered[other], _STABLE_WORDS):
            return i, other, f"'{names[i]}' names the stable version"
    numbers = [_version(n) for n in lowered]
    if numbers[0] is not None and numbers[1] is not None and numbers[0] != numbers[1]:
        i = 0 if numbers[0] < numbers[1] else 1
        return i, 1 - i, f"'{names[i]}' is the older version"
    if weights[0] != weights[1]:
        i = 0 if weights[0] > weights[1] else 1
        return i, 1 - i, f"'{names[i]}' takes more traffic now"
    return 0, 1, f"'{names[0]}' is listed first"


def _has_word(name: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"(^|[^a-z]){word}($|[^a-z])", name) for word in words)


def _version(name: str) -> tuple[int, ...] | None:
    found = re.findall(r"v(\d+(?:\.\d+)*)", name)
    return tuple(int(p) for p in found[-1].split(".")) if found else None


def subset_metrics(
    service: str, stable: str, canary: str, subsets: Mapping[str, Mapping[str, Any]], rule: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The metrics of a subset split and their provenance (keys relative to `metrics.`)."""
    table: dict[str, Any] = {"kind": "prometheus", "service": service}
    source = {"service": f"the destination host {service}"}
    labels = [subsets.get(stable), subsets.get(canary)]
    for key in VERSION_KEYS:
        values = [lab.get(key) if isinstance(lab, Mapping) else None for lab in labels]
        if all(isinstance(v, str) and v for v in values) and values[0] != values[1]:
            table |= {"version_label": "destination_version"}
            table |= {"baseline": values[0], "canary": values[1]}
            how = f"the '{key}' label of subsets {stable}/{canary} in {rule}"
            source |= {"version_label": f"Istio reports {how} as destination_version"}
            source |= {"baseline": how, "canary": how}
            return table, source
    table |= {"version_label": "destination_version", "baseline": stable, "canary": canary}
    why = (
        f"a guess: {rule} gives subsets {stable}/{canary} no 'version' label"
        if any(labels)
        else f"a guess: no DestinationRule defines subsets {stable}/{canary}"
    )
    guess = f"{why}, so their names stand for the destination_version values"
    return table, source | {"version_label": guess, "baseline": guess, "canary": guess}


def host_metrics(stable: str, canary: str, where: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The metrics of a host split (two Services) and their provenance."""
    how = f"a host split in {where}: Istio names each Service in destination_service_name"
    table = {
        "kind": "prometheus",
        "service": stable,
        "version_label": "destination_service_name",
        "baseline": stable,
        "canary": canary,
    }
    source = {
        "service": f"the stable Service {stable} (the version label selects both Services)",
        "version_label": how,
        "baseline": f"the stable Service of {where}",
        "canary": f"the canary Service of {where}",
    }
    return table, source


def workload_metrics(target: str, apex: str, where: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Flagger's split: its `<target>-primary` and `<target>` Deployments."""
    table = {
        "kind": "prometheus",
        "service": apex,
        "version_label": "destination_workload",
        "baseline": f"{target}-primary",
        "canary": target,
    }
    source = {
        "service": f"the service of {where} (the version label selects both workloads)",
        "version_label": "Flagger runs the stable version as Deployment <target>-primary and "
        "the canary as <target>: Istio names them in destination_workload",
        "baseline": f"Deployment {target}-primary, which Flagger made from {where}'s targetRef",
        "canary": f"Deployment {target}, the targetRef of {where}",
    }
    return table, source


def prefixed(prefix: str, source: Mapping[str, str]) -> dict[str, str]:
    """Provenance keys under a table: {"service": ...} -> {"metrics.service": ...}."""
    return {f"{prefix}.{key}": how for key, how in source.items()}
