"""`[rollouts.metrics] kind = "prometheus"`: which series tell baseline from canary, and the
query overrides, each validated at load (monotui.sources.promql)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator, model_validator

from monotui.kinds import MetricsSettings
from monotui.sources.promql import TemplateError, validate_template

_SECONDS_BUCKET = re.compile(r"_seconds_bucket\b")


class PrometheusMetricsSettings(MetricsSettings):
    """`[rollouts.metrics] kind = "prometheus"`: which series tell baseline from canary; the
    defaults are Istio's standard metrics."""

    kind: Literal["prometheus"] = "prometheus"
    service: str = ""
    """destination_service_name; default: the rollout's name."""
    version_label: str = "destination_version"
    """The label that tells baseline from canary."""
    baseline: str = "v1"
    """The version label's value for the baseline."""
    canary: str = "v2"
    """The version label's value for the canary."""
    selector: str = ""
    """Extra label matchers for this rollout's traffic, e.g. 'reporter="destination"'."""
    requests_query: str | None = None
    """Override of the requests count: the increase over $interval per version."""
    errors_query: str | None = None
    """Override of the 5xx count: the increase over $interval per version."""
    latency_buckets_query: str | None = None
    """Override of the duration histogram: bucket increases over $interval, by le and version."""
    latency_buckets_unit: Literal["ms", "s"] = "ms"
    """The unit of latency_buckets_query's `le` bounds: "s" for a Prometheus-style
    `..._seconds_bucket` histogram (its bounds are read as ms x 1000)."""
    error_rate_query: str | None = None
    """Override giving the error rate as a value (a fraction over $window, not a count): the
    error rate is then judged by its Mann-Whitney test."""
    latency_query: str | None = None
    """Override giving the p99 latency as a value in ms (judged by its Mann-Whitney test)."""
    request_rate_query: str | None = None
    """Override giving requests per second (the request counts become rate x span)."""

    @model_validator(mode="after")
    def _unit(self) -> PrometheusMetricsSettings:
        # A histogram in seconds read as ms shows a p99 1000x too small and never reaches
        # max_latency_ms or slow_ms: refused at load, with the key that reads it right.
        query = self.latency_buckets_query
        if query is None:
            if self.latency_buckets_unit != "ms":
                raise ValueError("latency_buckets_unit applies to latency_buckets_query only")
        elif self.latency_buckets_unit == "ms" and _SECONDS_BUCKET.search(query):
            raise ValueError(
                "latency_buckets_query reads a histogram in seconds (_seconds_bucket): set "
                'latency_buckets_unit = "s" (latency is shown and limited in ms)'
            )
        return self

    @field_validator("version_label")
    @classmethod
    def _label(cls, value: str) -> str:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", value):
            raise ValueError(
                f"'{value}' is not a Prometheus label name such as destination_version"
            )
        return value

    @field_validator(
        "requests_query",
        "errors_query",
        "latency_buckets_query",
        "error_rate_query",
        "latency_query",
        "request_rate_query",
    )
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        # An override that cannot tell the versions apart or select this rollout is a config error
        # now, not a silent NO DATA later.
        if value is None:
            return None
        try:
            return validate_template(value)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
