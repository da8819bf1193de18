"""`monotui report` on a known bad rollout: the simulated world plays it into a real Prometheus
(backfilled with promtool) and the audit log holds what the automation did; the postmortem draft
must give its timeline, detection and mitigation times and the impact, through the real CLI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from monotui.sim.world import World
from monotui.status import iso
from tests.prometheus_server import PrometheusServer
from tests.sim_history import T0, config_toml, played
from tests.test_backtest import BAD, monotui

# The automation's rollout: 1, 5, 10 %, 25 %, rolled back 30 s into the 25 % step.
ROLLED_BACK = 330.0
SCHEDULE = [(0.0, 1), (100.0, 5), (200.0, 10), (300.0, 25), (ROLLED_BACK, 0), (500.0, 0)]
ACTIONS = [
    (0.0, "advance", "0/100", "99/1", "step held"),
    (100.0, "advance", "99/1", "95/5", "step held 100s at 1 %"),
    (200.0, "advance", "95/5", "90/10", "step held 100s at 5 %"),
    (300.0, "advance", "90/10", "75/25", "step held 100s at 10 %"),
    (ROLLED_BACK, "rollback", "75/25", "100/0", "verdict FAIL: 5xx evidence reached 100x"),
]


def audit_log(path: Path) -> None:
    """The automation's actions as the write-ahead audit log records them: intent, outcome."""
    lines = []
    for n, (dt, action, before, after, reason) in enumerate(ACTIONS):
        at = datetime.fromtimestamp(T0 + dt, UTC).isoformat(timespec="milliseconds")
        common = {"user": "autopilot", "id": f"{n:016x}"}
        lines.append(
            {
                "time": at,
                **common,
                "phase": "intent",
                "rollout": "checkout",
                "namespace": "shop",
                "context": "prod",
                "kube_user": "system:serviceaccount:shop:monotui",
                "action": action,
                "origin": "automation",
                "reason": reason,
                "dry_run": False,
            }
        )
        lines.append(
            {
                "time": at,
                **common,
                "phase": "outcome",
                "result": "ok",
                "before": before,
                "after": after,
                "message": f"{action}: {before} -> {after} ({reason})",
            }
        )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def setup(prometheus: PrometheusServer, tmp_path: Path) -> tuple[Path, World]:
    world, text = played(SCHEDULE, canary=BAD)
    prometheus.backfill(text)
    prometheus.start()
    config = tmp_path / "monotui.toml"
    audit = tmp_path / "audit.jsonl"
    audit_log(audit)
    config.write_text(config_toml(prometheus.url) + f'\n[audit]\npath = "{audit}"\n')
    return config, world


def _window() -> tuple[str, ...]:
    return ("--from", iso(T0 - 60), "--to", iso(T0 + 500))


def test_the_draft_has_the_timeline_detection_mitigation_and_impact(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    config, world = setup(prometheus, tmp_path)
    out_file = tmp_path / "postmortem.md"
    out = monotui(config, "report", "--rollout", "checkout", *_window(), "-o", str(out_file))
    assert out.returncode == 0, out.stderr
    doc = out_file.read_text()
    for heading in (
        "## Summary",
        "## Impact",
        "## Detection",
        "## Mitigation",
        "## Timeline",
        "## Root cause",
        "## What went well",
        "## What went wrong",
        "## Action items",
    ):
        assert heading in doc
    # Timeline: every action of the audit log, with who and why, in order.
    rows = [line for line in doc.splitlines() if line.startswith("| 20")]
    actions = [r for r in rows if "| automation |" in r]
    assert [a.split("|")[2].strip().split()[0] for a in actions] == [a[1] for a in ACTIONS]
    assert "75/25 -> 100/0" in actions[-1] and "5xx evidence reached 100x" in actions[-1]
    assert "evidence" in actions[-1].split("|")[5]  # the judge's numbers at the decision
    # Detection: first significant evidence once the canary misbehaves visibly, the limit after.
    first = _time_of(doc, "First significant evidence (10x): ")
    limit = _time_of(doc, "(1/alpha, rolls back): ")
    assert T0 + 100 <= first <= limit <= T0 + ROLLED_BACK + 10
    # Mitigation: the rollback of the audit log.
    assert f"Rolled back at {iso(T0 + ROLLED_BACK)}" in doc
    # Impact: the canary's 5xx until the rollback, as the world counted them.
    truth = _world_5xx(world)
    served = _number(doc, r"- ([\d,]+) 5xx requests served by the canary")
    beyond = _number(doc, r"\*\*([\d,]+) beyond what the baseline's rate predicts\*\*")
    assert abs(served - truth) <= 0.1 * truth + 5, (served, truth)
    assert 0 < beyond < served
    # Charts beside the file, linked relatively.
    for name in ("postmortem-error-rate.svg", "postmortem-latency-p99-ms.svg"):
        assert f"]({name})" in doc
        svg = (tmp_path / name).read_text()
        assert svg.startswith("<svg") and svg.count("<polyline") >= 2


def test_text_charts_inline(prometheus: PrometheusServer, tmp_path: Path) -> None:
    config, _ = setup(prometheus, tmp_path)
    out = monotui(config, "report", "--rollout", "checkout", *_window(), "--text")
    assert out.returncode == 0, out.stderr
    assert "```\nerror rate   (· baseline, o canary, @ both)" in out.stdout
    assert not list(tmp_path.glob("*.svg"))


def _time_of(doc: str, label: str) -> float:
    line = next(line for line in doc.splitlines() if label in line)
    stamp = line.split(label, 1)[1].split()[0]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _number(doc: str, pattern: str) -> float:
    match = re.search(pattern, doc)
    assert match, pattern
    return float(match.group(1).replace(",", ""))


def _world_5xx(world: World) -> float:
    counters: Any = world.counters("checkout")["v2"]
    return float(sum(n for code, n in counters.requests.items() if code >= 500))


HOSTILE_REASON = (
    "evil &#x202e;gnp.exe &amp; ~~struck~~ <script>alert(1)</script> | cell | ``` [x](http://e)"
)


def test_outside_text_reads_literally_in_the_rendered_draft(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    from markdown_it import MarkdownIt

    config, _ = setup(prometheus, tmp_path)
    audit = tmp_path / "audit.jsonl"
    reason = json.dumps("verdict FAIL: 5xx evidence reached 100x")[1:-1]
    audit.write_text(audit.read_text().replace(reason, json.dumps(HOSTILE_REASON)[1:-1]))
    # A file name with a space and parentheses: the charts' links must still reach their files.
    out_file = tmp_path / "post mortem (draft).md"
    out = monotui(config, "report", "--rollout", "checkout", *_window(), "-o", str(out_file))
    assert out.returncode == 0, out.stderr
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(out_file.read_text())
    assert "\u202e" not in html and "<script" not in html and "<s>" not in html
    assert "<a href" not in html
    rollback = next(row for row in html.split("<tr>") if "75/25 -&gt; 100/0" in row)
    assert rollback.count("<td>") == 5  # the | inside stayed in its cell
    assert "evil &amp;#x202e;gnp.exe &amp;amp; ~~struck~~ &lt;script&gt;" in rollback
    for chart in ("error-rate", "latency-p99-ms"):
        (src,) = re.findall(rf'<img src="([^"]*{chart}\.svg)"', html)
        assert (tmp_path / unquote(src)).exists()


def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    config, _ = setup(prometheus, tmp_path)
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder.md").mkdir()
    for target, says in (
        (tmp_path / "a-file" / "draft.md", "no folder"),  # said before any query
        (tmp_path / "a-folder.md", "Is a directory"),
    ):
        out = monotui(config, "report", "--rollout", "checkout", *_window(), "-o", str(target))
        assert out.returncode == 2, out.stderr
        (line,) = out.stderr.splitlines()
        assert line.startswith(f"monotui: cannot write the report to {target}: ") and says in line
