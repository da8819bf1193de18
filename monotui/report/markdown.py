"""The postmortem draft as Markdown, after the Google SRE book's template and PagerDuty's: the
facts monotui knows filled in (summary, impact, detection, mitigation, timeline, the judge's
numbers, charts), and headed sections left for the humans (root cause, what went well, what went
wrong, where we got lucky, action items). Outside text (reasons, messages, who) is escaped so it
reads literally in any Markdown renderer."""

from __future__ import annotations

import re
from collections.abc import Mapping

from monotui.outside_text import literal
from monotui.report.analysis import Findings
from monotui.report.impact import Cost
from monotui.status import iso

# Markup characters, `&` among them: an entity (`&#x202e;`, `&amp;`) would render as the character
# it names (a bidi override, a hidden one), not as what the text says; `~` strikes through (GFM).
_MD = re.compile(r"([\\`*_\[\]<|&~])")
HUMANS = "_To be written by the people involved._"


def md(text: object, max_len: int = 500) -> str:
    """Outside text as literal Markdown: one line, markup characters escaped."""
    return _MD.sub(r"\\\1", literal(text, max_len=max_len))


def render(f: Findings, charts: Mapping[str, str]) -> str:
    """The document; `charts` maps a chart's title to its Markdown (an image link, or a fenced
    text chart)."""
    r = f.rollout
    where = f"namespace {md(r.namespace)}" + (f", context {md(_context(f))}" if _context(f) else "")
    day = iso(f.start)[:10]
    out = [
        f"# Postmortem draft: the {md(r.name)} canary, {day}",
        "",
        "_Drafted by `monotui report` from the audit log and Prometheus history. Check every "
        "fact below, then write the sections marked for people._",
        "",
        "| | |",
        "|---|---|",
        "| Status | Draft |",
        f"| Window | {iso(f.start)} to {iso(f.end)} (UTC) |",
        f"| Rollout | {md(r.name)} in {where}, router {md(r.router.kind)} |",
        f"| Steps | {', '.join(f'{s} %' for s in r.steps)} (policy {r.policy}) |",
        "| Authors | _to fill in_ |",
        "",
        "## Summary",
        "",
        summary(f),
        "",
        "## Impact",
        "",
        *impact(f),
        "",
        "## Detection",
        "",
        *detection(f),
        "",
        "## Mitigation",
        "",
        *mitigation(f),
        "",
        "## Timeline",
        "",
        *timeline(f),
        "",
        "## Charts",
        "",
    ]
    for title, chart in charts.items():
        out += [f"### {md(title)}", "", chart, ""]
    for heading in (
        "Root cause",
        "Trigger",
        "What went well",
        "What went wrong",
        "Where we got lucky",
    ):
        out += [f"## {heading}", "", HUMANS, ""]
    out += [
        "## Action items",
        "",
        "| Action item | Type (prevent / mitigate / detect) | Owner | Ticket |",
        "|---|---|---|---|",
        "| | | | |",
        "",
    ]
    return "\n".join(out)


def summary(f: Findings) -> str:
    if f.canary_start is None:
        return "The canary took no traffic in this window."
    parts = [f"The canary of {md(f.rollout.name)} started taking traffic at {iso(f.canary_start)}."]
    if f.first_evidence is not None:
        parts.append(
            f"The judge saw the first significant evidence against it "
            f"{_after(f.first_evidence, f.canary_start)} after that"
            + (
                f" and reached the evidence that rolls back "
                f"{_after(f.rolls_back_evidence, f.canary_start)} after it started."
                if f.rolls_back_evidence is not None
                else "."
            )
        )
    else:
        parts.append("The judge found no significant evidence against it.")
    if f.mitigated is not None:
        parts.append(
            f"It was rolled back at {iso(f.mitigated)} by {md(f.mitigated_by)}, "
            f"{_after(f.mitigated, f.canary_start)} after it started."
        )
    else:
        parts.append("It was not rolled back within the window.")
    parts.append(f"Until then it served {_costs(f.costs)}.")
    return " ".join(parts)


def impact(f: Findings) -> list[str]:
    out = [
        f"- {c.canary_bad:,.0f} {md(c.what)} requests served by the canary, "
        f"**{c.excess:,.0f} beyond what the baseline's rate predicts**, in "
        f"{c.canary_requests:,.0f} canary requests"
        for c in f.costs
    ]
    if not out:
        out = ["- No counted requests in this window."]
    out += [
        "",
        "The users' share of traffic over time (each stretch at one step):",
        "",
        "| From | To | Step | Canary share of requests | Canary requests | "
        + " | ".join(f"{md(c.what)} (beyond baseline)" for c in f.costs)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(f.costs),
    ]
    for s in f.stretches:
        cells = [f"{c.canary_bad:,.0f} ({c.excess:,.0f})" for c in s.costs]
        cells += [""] * (len(f.costs) - len(cells))
        requests = s.costs[0].canary_requests if s.costs else 0.0
        out.append(
            f"| {iso(s.start)} | {iso(s.end)} | {s.step_pct} % | {s.share_pct:.1f} % | "
            f"{requests:,.0f} | " + " | ".join(cells) + " |"
        )
    return out


def detection(f: Findings) -> list[str]:
    start = f.canary_start
    out = [f"- The canary started taking traffic: {_at(start, None)}"]
    out.append(f"- First significant evidence (10x): {_at(f.first_evidence, start)}")
    limit = f"{1 / f.rollout.judge.alpha:.0f}x"
    out.append(
        f"- The evidence reached {limit} (1/alpha, rolls back): {_at(f.rolls_back_evidence, start)}"
    )
    reason = next((d.reason for d in f.replay.decisions if d.t == f.rolls_back_evidence), "")
    if reason:
        out.append(f"- The judge said: {md(reason, 800)}")
    out.append(
        "- Times come from replaying the judge over the Prometheus history at the rollout's "
        f"interval ({f.rollout.interval_s:g}s), as `monotui backtest` does."
    )
    return out


def mitigation(f: Findings) -> list[str]:
    if f.mitigated is None:
        out = ["- No rollback in the audit log within the window."]
        if f.replay.rolled_back_at is not None:
            out.append(
                f"- The judge and the policy would have rolled back at "
                f"{iso(f.replay.rolled_back_at)}."
            )
        return out
    rollback = next(r for r in f.records if r.t == f.mitigated)
    out = [
        f"- Rolled back at {_at(f.mitigated, f.canary_start)} by {md(rollback.who)}"
        + (f": {md(rollback.reason, 800)}" if rollback.reason else ""),
    ]
    if f.rolls_back_evidence is not None and f.mitigated >= f.rolls_back_evidence:
        out.append(
            f"- {_after(f.mitigated, f.rolls_back_evidence)} after the evidence reached the limit."
        )
    elif f.rolls_back_evidence is not None:  # the live judge polls on its own clock
        out.append(
            f"- {_after(f.rolls_back_evidence, f.mitigated)} before the replayed evidence reached "
            f"the limit (the replay polls every {f.rollout.interval_s:g}s, the live judge on its own)."
        )
    return out


def timeline(f: Findings) -> list[str]:
    out = [
        "*Why* is what the actor said then (the audit log); the numbers are the judge replayed over "
        "Prometheus history at the rollout's interval, so they may differ from the live judge's.",
        "",
        "| Time (UTC) | What | Who | Why | The replayed judge's numbers |",
        "|---|---|---|---|---|",
    ]
    for e in f.timeline:
        out.append(
            f"| {iso(e.t)} | {md(e.what)} | {md(e.who)} | {md(e.why, 400)} | {md(e.numbers, 400)} |"
        )
    if len(out) == 4:
        out.append("| | nothing happened in this window | | | |")
    return out


def _context(f: Findings) -> str:
    return next((r.context for r in f.records if r.context), "")


def _costs(costs: tuple[Cost, ...]) -> str:
    if not costs:
        return "no counted requests"
    return ", ".join(
        f"{c.canary_bad:,.0f} {md(c.what)} ({c.excess:,.0f} beyond the baseline's rate)"
        for c in costs
    )


def _after(t: float | None, since: float | None) -> str:
    if t is None or since is None:
        return "?"
    seconds = max(0.0, t - since)
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _at(t: float | None, since: float | None) -> str:
    if t is None:
        return "not in this window"
    return iso(t) + (f" (+{_after(t, since)})" if since is not None else "")
