"""How often Prometheus really scrapes a rollout's series, to check `[prometheus]
scrape_interval_s` against (for `monotui check-config`).

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


def seen_scrape_interval_s(
    shared: SharedPrometheus, context: QueryContext, at: float
) -> float | None:
    """The interval between the samples of the rollout's busiest requests series over the last
    ten minutes before `at`; None without series (no traffic, or not Istio's metrics)."""
    query = (
        "max(count_over_time(istio_requests_total"
        f'{{reporter="destination",{context.filter}}}[{LOOK_BACK_S:.0f}s]))'
    )
    answer = shared.instant(query, at, "the scrape interval check")
    counts = [p[1] for s in answer for p in s.points if p[1] is not None]
    if not counts or max(counts) < 2:
        return None
    return LOOK_BACK_S / max(counts)


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
