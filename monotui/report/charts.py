"""The report's charts: error rate and p99 of both versions over the window, as SVG files beside
the Markdown (linked relatively) or as text charts inline."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from monotui.report import svg, textchart
from monotui.report.analysis import Findings
from monotui.report.svg import Mark, Point

CHARTS = (("error_rate", "error rate", " %", 100.0), ("latency_p99_ms", "p99 latency", " ms", 1.0))


def series(f: Findings, metric: str) -> dict[str, list[Point]]:
    """(time, value) of both versions for `metric` (empty when the rollout does not measure it)."""
    index = next((i for i, s in enumerate(f.specs) if s.name == metric), None)
    if index is None:
        return {}
    return {
        "baseline": [(s.t, s.value(index).baseline) for s in f.samples],
        "canary": [(s.t, s.value(index).canary) for s in f.samples],
    }


def marks(f: Findings) -> list[Mark]:
    out = []
    if f.first_evidence is not None:
        out.append(Mark(f.first_evidence, "10x"))
    if f.rolls_back_evidence is not None:
        out.append(Mark(f.rolls_back_evidence, "limit"))
    if f.mitigated is not None:
        out.append(Mark(f.mitigated, "rollback"))
    return out


def build(f: Findings, markdown_file: Path | None, *, text: bool) -> dict[str, str]:
    """Title -> the Markdown that shows the chart; SVGs are written beside `markdown_file`
    (named after it) unless `text` (or there is no file to put them beside)."""
    out: dict[str, str] = {}
    for metric, title, unit, scale in CHARTS:
        data = series(f, metric)
        if not data:
            continue
        spec = next(s for s in f.specs if s.name == metric)
        if text or markdown_file is None:
            body = textchart.chart(title, data, unit=unit, scale=scale)
            out[title] = f"```\n{body}\n```"
            continue
        name = f"{markdown_file.stem}-{metric.replace('_', '-')}.svg"
        document = svg.chart(title, data, unit=unit, scale=scale, limit=spec.limit, marks=marks(f))
        (markdown_file.parent / name).write_text(document, encoding="utf-8")
        out[title] = f"![{title}]({quote(name)})"  # a space or a parenthesis ends a bare link
    return out
