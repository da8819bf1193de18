"""Batched PromQL: one query per count for every rollout that shares its template, grouped by the
labels that tell rollouts apart, and the answer split back per rollout.

A count template (monotui.sources.promql.COUNT_TEMPLATES) groups by the version label only, and
`$filter` selects one rollout. Its batched form groups by namespace and service too, and its
filter matches every member's namespace, service and versions at once (a regex of each: the cross
product may match a neighbour, which the split ignores). A template that cannot be batched (an
override, or a shape this module does not recognise) is sent per rollout, as before.

Optional recording rules (deploy/prometheus/, Istio's `workload:` naming) replace the raw metric
names when `[prometheus] recording_rules` is on and the recorded series exist.

Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from monotui.sources.promql import QueryContext, placeholders_of, promql_string

NAMESPACE_LABEL = "destination_service_namespace"
SERVICE_LABEL = "destination_service_name"
_GROUPING = re.compile(r"sum by \((le, )?\$version_label\)")
_BATCHABLE = frozenset({"version_label", "filter", "interval"})
"""What a batched template may use: placeholders naming one rollout ($service...) cannot be."""

RECORDED: dict[str, str] = {
    "istio_requests_total": "workload:istio_requests_total",
    "istio_request_duration_milliseconds_bucket": (
        "workload:istio_request_duration_milliseconds_bucket"
    ),
}
"""Raw Istio metric -> the recording rule's series of the same counts (deploy/prometheus/)."""
RECORDED_VERSION_LABELS = frozenset({"destination_version", "destination_canonical_revision"})
"""The version labels the recording rules keep (a selector's labels are summed away)."""


def batched_template(template: str) -> str | None:
    """The batched form of a per-rollout count template: grouped by namespace and service too;
    None when the template does not group by `$version_label` in the way this module knows."""
    names = placeholders_of(template)
    if "filter" not in names or not names <= _BATCHABLE or len(_GROUPING.findall(template)) != 1:
        return None
    return _GROUPING.sub(
        lambda m: f"sum by ({m.group(1) or ''}{NAMESPACE_LABEL}, {SERVICE_LABEL}, $version_label)",
        template,
    )


def recorded(template: str) -> str:
    """`template` reading the recording rules' series instead of the raw metrics."""
    out = template
    for raw, rule in RECORDED.items():
        out = re.sub(rf"(?<![:\w]){re.escape(raw)}(?!\w)", rule, out)
    return out


@dataclass(frozen=True, slots=True)
class Member:
    """One rollout in a batch: where its series are, and which versions it reads."""

    namespace: str
    service: str
    versions: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.service)


def _alternation(values: Iterable[str]) -> str:
    """A PromQL regex string matching exactly these values (sorted, so it reads the same)."""
    escaped = ("".join("\\" + ch if ch in r"\.^$*+?()[]{}|" else ch for ch in v) for v in values)
    return promql_string("|".join(sorted(set(escaped))))


def batch_filter(members: Sequence[Member], version_label: str, selector: str) -> str:
    """The label matchers selecting every member's traffic (put inside {...})."""
    return _batch_filter(tuple(members), version_label, selector)


@functools.lru_cache(maxsize=64)
def _batch_filter(members: tuple[Member, ...], version_label: str, selector: str) -> str:
    # The same members every poll: escaping 300 names anew cost some 20 ms of CPU per query.
    parts = [
        f'{SERVICE_LABEL}=~"{_alternation(m.service for m in members)}"',
        f'{NAMESPACE_LABEL}=~"{_alternation(m.namespace for m in members)}"',
        f'{version_label}=~"{_alternation(v for m in members for v in m.versions)}"',
    ]
    extra = selector.strip().strip("{}").strip().strip(",").strip()
    if extra:
        parts.append(extra)
    return ",".join(parts)


def render_batch(
    template: str,
    members: Sequence[Member],
    *,
    version_label: str,
    selector: str,
    window: str,
    interval: str,
) -> str:
    """A batched template filled in for `members` (`$interval` the span they share)."""
    some = members[0]
    context = QueryContext(
        namespace=some.namespace,
        service=some.service,
        version_label=version_label,
        baseline=some.versions[0],
        canary=some.versions[-1],
        window=window,
        selector=selector,
    )
    values = context.values()
    values["interval"] = interval
    values["filter"] = batch_filter(members, version_label, selector)
    return string.Template(template).substitute(values)


class Labelled(Protocol):
    """A series of an answer (monotui.sources.prometheus_api.Series)."""

    @property
    def labels(self) -> Mapping[str, str]: ...


L = TypeVar("L", bound=Labelled)


def split(series: Iterable[L]) -> dict[tuple[str, str], list[L]]:
    """An answer's series by (namespace, service): each member picks its own by its key. A
    series without both labels belongs to nobody."""
    out: dict[tuple[str, str], list[L]] = {}
    for s in series:
        ns, svc = s.labels.get(NAMESPACE_LABEL), s.labels.get(SERVICE_LABEL)
        if ns is not None and svc is not None:
            out.setdefault((ns, svc), []).append(s)
    return out
