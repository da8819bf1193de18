"""How often Prometheus really scrapes a rollout's series, to check `[prometheus]
scrape_interval_s` against (for `monotui check-config`) and to set it when discovery found the
Prometheus.

A poll counts a span of two configured scrapes: configured shorter than the real interval, the
spans hold one scrape and increase() finds no series (NO DATA on most polls); configured longer,
monotui only counts less often. The real interval is read from the samples themselves:
`count_over_time` of the rollout's requests counters over the last ten minutes.
"""

from __future__ import annotations

from monotui.errors import MonotuiError
from monotui.sources.prometheus_shared import SharedPrometheus
from monotui.sources.promql import QueryContext

LOOK_BACK_S = 600.0


def scrape_interval_query(label_filter: str) -> str:
    """The query whose answer `interval_from` reads: the most samples any of Istio's requests
    counters matched by `label_filter` has over the look-back, among the series that already had
    samples before it (a series born within it, or a Prometheus started since, holds fewer
    samples than its interval implies)."""
    series = f'istio_requests_total{{reporter="destination",{label_filter}}}'
    look = f"{LOOK_BACK_S:.0f}s"
    return (
        f"max(count_over_time({series}[{look}])"
        f" and count_over_time({series}[{look}] offset {look}))"
    )


def interval_from(counts: list[float]) -> float | None:
    """The scrape interval the counts of `scrape_interval_query` imply; None below two samples."""
    if not counts or max(counts) < 2:
        return None
    return LOOK_BACK_S / max(counts)


def seen_scrape_interval_s(
    shared: SharedPrometheus, context: QueryContext, at: float
) -> float | None:
    """The interval between the samples of the rollout's busiest requests series over the last
    ten minutes before `at`; None without series (no traffic, or not Istio's metrics)."""
    answer = shared.instant(scrape_interval_query(context.filter), at, "the scrape interval check")
    return interval_from([p[1] for s in answer for p in s.points if p[1] is not None])


def scrape_advice(
    shared: SharedPrometheus, context: QueryContext, configured_s: float, at: float
) -> str:
    """ "" when the configured scrape interval fits what Prometheus holds (or nothing can be
    seen), else one sentence saying what to set."""
    try:
        seen = seen_scrape_interval_s(shared, context, at)
    except MonotuiError:
        return ""  # the reachability check says what is wrong with the server
    if seen is None or seen <= configured_s * 1.25:
        return ""
    return (
        f"its series are scraped every {seen:.0f}s but [prometheus] scrape_interval_s is "
        f"{configured_s:g}: most polls would find no series (NO DATA); set it to {seen:.0f}"
    )
