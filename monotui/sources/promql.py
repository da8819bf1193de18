"""PromQL templates, their placeholders, and how a rollout fills them in.

The judge reads counts: each poll, the increase over the poll's span (`$interval`) of each
version's requests, 5xx and duration-histogram buckets (COUNT_TEMPLATES). The older rate
templates (DEFAULT_TEMPLATES, over `$window`) remain for overrides that give a value, not a count:
a metric read that way is judged by its Mann-Whitney test.

Templates use `$name` placeholders (Python's `string.Template`): PromQL itself uses `{}` for label
matchers, so `{name}` would be ambiguous; `$` never appears in PromQL. `$$` is a literal dollar.

Every template returns one series per version, grouped by the version label, so one query answers
for baseline and canary together (the number of queries per poll does not grow with versions).
Pure: no I/O, no imports of the HTTP client; `monotui.config` validates overrides with it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

PLACEHOLDERS: dict[str, str] = {
    "namespace": "the rollout's namespace (destination_service_namespace)",
    "service": "the metrics service (destination_service_name)",
    "selector": "the extra label matchers of [rollouts.metrics] selector (may be empty)",
    "baseline": "the version label's value for the baseline",
    "canary": "the version label's value for the canary",
    "version_label": "the label that tells baseline from canary",
    "window": "the range of rate(), e.g. 1m",
    "interval": "the span of increase(): the time since the last counted poll, e.g. 10000ms",
    "versions": "a regex matching both versions, escaped for a PromQL string: v1|v2",
    "filter": "all of this rollout's label matchers joined by commas (service, namespace, "
    "both versions, selector), to put inside {...}",
}
"""Every placeholder a template may use, with what it becomes."""

METRICS = ("error_rate", "latency", "request_rate")
"""The value (rate) templates, for overrides."""

COUNT_TEMPLATES: dict[str, str] = {
    "requests": (
        "sum by ($version_label) (increase(istio_requests_total"
        '{reporter="destination",$filter}[$interval]))'
    ),
    "errors": (
        "sum by ($version_label) (increase(istio_requests_total"
        '{reporter="destination",$filter,response_code=~"5.."}[$interval]))'
    ),
    "latency_buckets": (
        "sum by (le, $version_label) (increase("
        'istio_request_duration_milliseconds_bucket{reporter="destination",$filter}[$interval]))'
    ),
}
"""The Istio defaults of the counts a poll reads: requests, 5xx (absent for a version that had
none: that is 0 when it had requests) and the duration buckets per version, over `$interval`."""

# Errors that never appear for a version are absent series, not zero: `or ... * 0` turns "no 5xx
# series" into 0 where the version has traffic, so a healthy canary reads 0 %, not NO DATA.
DEFAULT_TEMPLATES: dict[str, str] = {
    "error_rate": (
        "(sum by ($version_label) (rate(istio_requests_total"
        '{reporter="destination",$filter,response_code=~"5.."}[$window]))'
        " or sum by ($version_label) (rate(istio_requests_total"
        '{reporter="destination",$filter}[$window])) * 0)'
        " / sum by ($version_label) (rate(istio_requests_total"
        '{reporter="destination",$filter}[$window]))'
    ),
    "latency": (
        "histogram_quantile(0.99, sum by (le, $version_label) (rate("
        'istio_request_duration_milliseconds_bucket{reporter="destination",$filter}[$window])))'
    ),
    "request_rate": (
        "sum by ($version_label) (rate(istio_requests_total"
        '{reporter="destination",$filter}[$window]))'
    ),
}
"""The Istio defaults: 5xx/total per version, p99 in ms per version, requests/s per version."""


class TemplateError(ValueError):
    """A template override cannot work: unknown or missing placeholders, or a stray `$`."""


def placeholders_of(template: str) -> set[str]:
    """The placeholder names a template uses; raises TemplateError on a stray `$`."""
    names: set[str] = set()
    for match in string.Template.pattern.finditer(template):
        if match.group("invalid") is not None:
            col = match.start("invalid")
            raise TemplateError(
                f"stray '$' at character {col + 1} (write $$ for a literal dollar, "
                f"or use one of ${', $'.join(PLACEHOLDERS)})"
            )
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
    return names


def validate_template(template: str) -> str:
    """Check an override: known placeholders only, grouped by version, limited to this rollout.

    It must use `$version_label` (the answer is split by it) and either `$filter` or all of
    `$service`, `$baseline` and `$canary` (so it selects this rollout's two versions only).
    """
    names = placeholders_of(template)
    unknown = sorted(names - PLACEHOLDERS.keys())
    if unknown:
        raise TemplateError(
            f"unknown placeholder ${', $'.join(unknown)} (known: ${', $'.join(PLACEHOLDERS)})"
        )
    missing = []
    if "version_label" not in names:
        missing.append("$version_label (to group by version, e.g. sum by ($version_label))")
    if "filter" not in names:
        lacking = [f"${n}" for n in ("service", "baseline", "canary") if n not in names]
        if lacking:
            missing.append(f"$filter (or {', '.join(lacking)}) to select this rollout's traffic")
    if missing:
        raise TemplateError(f"missing placeholder {'; '.join(missing)}")
    return template


def promql_string(value: str) -> str:
    """`value` escaped for the inside of a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def regex_literal(value: str) -> str:
    """`value` as an RE2 literal (only the metacharacters are escaped; RE2 rejects some escapes)."""
    return "".join("\\" + ch if ch in r"\.^$*+?()[]{}|" else ch for ch in value)


SELF_SELECTING_LABELS = frozenset(
    {"destination_service_name", "destination_service", "destination_workload"}
)
"""Version labels whose two values are themselves the two Services or workloads (a host split,
Flagger's primary/canary Deployments): `$filter` then pins no single destination_service_name,
since the version matcher already selects exactly those two."""


@dataclass(frozen=True, slots=True)
class QueryContext:
    """What a rollout puts into the placeholders."""

    namespace: str
    service: str
    version_label: str
    baseline: str
    canary: str
    window: str
    selector: str = ""
    interval: str = "1m"

    @property
    def versions(self) -> str:
        regex = f"{regex_literal(self.baseline)}|{regex_literal(self.canary)}"
        return promql_string(regex)

    @property
    def filter(self) -> str:
        parts = [
            f'destination_service_name="{promql_string(self.service)}"',
            f'destination_service_namespace="{promql_string(self.namespace)}"',
            f'{self.version_label}=~"{self.versions}"',
        ]
        if self.version_label in SELF_SELECTING_LABELS:
            parts = parts[1:]
        extra = self.selector.strip().strip("{}").strip().strip(",").strip()
        if extra:
            parts.append(extra)
        return ",".join(parts)

    def values(self) -> dict[str, str]:
        """Placeholder -> text. Values go in raw except where a PromQL string needs escaping."""
        return {
            "namespace": promql_string(self.namespace),
            "service": promql_string(self.service),
            "selector": self.selector.strip().strip("{}").strip().strip(","),
            "baseline": promql_string(self.baseline),
            "canary": promql_string(self.canary),
            "version_label": self.version_label,
            "window": self.window,
            "interval": self.interval,
            "versions": self.versions,
            "filter": self.filter,
        }

    def render(self, template: str, *, interval: str | None = None) -> str:
        """The template with every placeholder filled in (`interval` for this poll's span)."""
        values = self.values()
        if interval is not None:
            values["interval"] = interval
        return string.Template(template).substitute(values)


def interval_text(span_s: float) -> str:
    """A span as a PromQL duration to the millisecond (at least 1 ms): 10000ms."""
    return f"{max(1, round(span_s * 1000))}ms"
