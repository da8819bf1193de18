"""The numbers of a message in words, the same on every platform (each escapes the result for its
own markup): error rates, p99, the evidence against the 100x that rolls back and its interval,
the canary's share, and the bad requests it served."""

from __future__ import annotations

from monotui.notify.message import Numbers


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage; None is NO DATA, never 0."""
    return "NO DATA" if value is None else f"{100 * value:.{digits}f} %"


def ms(value: float | None) -> str:
    return "NO DATA" if value is None else f"{value:,.0f} ms"


def times(value: float | None) -> str:
    """An evidence ratio: 3.2x, 1,250x, >1,000,000x."""
    if value is None:
        return "NO DATA"
    if value > 1e6:
        return ">1,000,000x"
    return f"{value:,.1f}x" if value < 100 else f"{value:,.0f}x"


def facts(n: Numbers) -> list[tuple[str, str]]:
    """(label, value) pairs, in the order people read them."""
    out = [
        ("verdict", n.verdict),
        (
            "error rate",
            f"{pct(n.error_rate_canary)} canary vs {pct(n.error_rate_baseline)} baseline",
        ),
        ("p99", f"{ms(n.p99_ms_canary)} canary vs {ms(n.p99_ms_baseline)} baseline"),
    ]
    if n.e_value is not None:
        limit = f" (rolls back at {times(n.rolls_back_at)})" if n.rolls_back_at else ""
        out.append(("evidence", f"{times(n.e_value)}{limit}"))
    if n.ratio is not None:
        interval = ""
        if n.ci_low is not None and n.ci_high is not None:
            interval = f", interval {n.ci_low:.2f} to {n.ci_high:.2f}"
        out.append(("canary / baseline", f"{n.ratio:.2f}{interval}"))
    share = "NO DATA" if n.canary_share_pct is None else f"{n.canary_share_pct:.1f} % observed"
    weight = "?" if n.canary_weight_pct is None else f"{n.canary_weight_pct} %"
    out.append(("canary traffic", f"{weight} routed, {share}"))
    if n.bad_served is not None:
        beyond = "" if n.excess_bad is None else f", {n.excess_bad:,.0f} beyond the baseline's rate"
        out.append(("bad requests served", f"{n.bad_served:,.0f} 5xx{beyond}"))
    return out


def facts_line(n: Numbers) -> str:
    """The facts as one line, for plain text and the Kubernetes Event's message."""
    return "; ".join(f"{label} {value}" for label, value in facts(n))
