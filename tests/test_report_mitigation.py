"""The mitigation section never turns a rollback that came before the replayed evidence into
"0s after" it: the live judge and the replay poll at different moments."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from monotui.report.analysis import Findings
from monotui.report.markdown import mitigation


def _findings(mitigated: float, limit_reached: float) -> Findings:
    rollback = SimpleNamespace(t=mitigated, who="automation", reason="verdict FAIL")
    found = SimpleNamespace(
        mitigated=mitigated,
        canary_start=0.0,
        records=(rollback,),
        rolls_back_evidence=limit_reached,
        rollout=SimpleNamespace(interval_s=10.0),
    )
    return cast(Findings, found)


def test_a_rollback_after_the_limit_says_how_long_after() -> None:
    lines = mitigation(_findings(mitigated=272.0, limit_reached=270.0))
    assert lines[-1] == "- 2s after the evidence reached the limit."


def test_a_rollback_before_the_replayed_limit_says_before_not_zero_after() -> None:
    lines = mitigation(_findings(mitigated=269.0, limit_reached=270.0))
    assert lines[-1].startswith("- 1s before the replayed evidence reached the limit")
    assert not any("after the evidence" in line for line in lines)
