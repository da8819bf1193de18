"""Which events become messages: verdict changes that matter (PASS -> FAIL and back, both
versions failing, NO DATA only once it lasts), a source only once it has failed for the
threshold (and its recovery then), never one message per poll."""

from __future__ import annotations

from monotui.model import (
    EventLevel,
    Snapshot,
    SourceFailed,
    SourceRecovered,
    SourceState,
    SourceStatus,
    VerdictChanged,
    VerdictResult,
)
from monotui.model.verdict import Verdict
from monotui.notify.compose import Composer

R = "checkout"


class Lookup:
    def __init__(self) -> None:
        self.version = "41"

    def snapshot(self, rollout: str) -> Snapshot | None:
        return None

    def generation(self, rollout: str) -> str:
        return self.version

    def user(self, rollout: str) -> str:
        return "alice"


def composer() -> Composer:
    return Composer(Lookup(), nodata_after_s=300, source_error_after_s=120)


def verdict(
    t: float, result: VerdictResult, before: VerdictResult, incident: bool = False
) -> VerdictChanged:
    v = Verdict(result, None, f"because {result.value}", incident=incident)
    return VerdictChanged(t, R, f"verdict {result.value}", before=before, verdict=v)


def test_a_fail_and_its_recovery_are_told_once_each() -> None:
    c = composer()
    (fail,) = c.event(verdict(10, VerdictResult.FAIL, VerdictResult.PASS))
    assert fail.title == "checkout: verdict FAIL" and fail.key == "checkout|verdict|FAIL|41"
    (back,) = c.event(verdict(20, VerdictResult.PASS, VerdictResult.FAIL))
    assert "back to PASS" in back.title and fail.key in back.clears
    assert c.event(verdict(30, VerdictResult.MARGINAL, VerdictResult.PASS)) == []


def test_both_versions_failing_is_an_incident_not_the_canary() -> None:
    (m,) = composer().event(verdict(10, VerdictResult.MARGINAL, VerdictResult.PASS, True))
    assert "both versions failing" in m.title and "incident" in m.title


def test_no_data_is_told_only_once_it_has_lasted() -> None:
    c = composer()
    assert c.event(verdict(100, VerdictResult.NODATA, VerdictResult.PASS)) == []
    assert c.due(399) == []
    (m,) = c.due(400)
    assert m.title == "checkout: NO DATA for 300s"
    assert c.due(1000) == []  # once
    (again,) = c.event(verdict(1100, VerdictResult.PASS, VerdictResult.NODATA))
    assert "data again" in again.title and m.key in again.clears


def test_a_short_no_data_is_never_told() -> None:
    c = composer()
    c.event(verdict(100, VerdictResult.NODATA, VerdictResult.PASS))
    assert c.event(verdict(200, VerdictResult.PASS, VerdictResult.NODATA)) == []
    assert c.due(10_000) == []


def test_a_source_is_told_once_it_failed_for_the_threshold() -> None:
    c = composer()
    status = SourceStatus("metrics", SourceState.ERROR, "Prometheus unreachable")
    for t in (0, 5, 10, 15):  # a failure every poll is one episode
        assert c.event(SourceFailed(t, R, "metrics: down", EventLevel.ERROR, source=status)) == []
    assert c.due(119) == []
    (m,) = c.due(120)
    assert m.event == "source" and "metrics failing for 120s" in m.title
    (recovered,) = c.event(SourceRecovered(200, R, "metrics: answers again", source="metrics"))
    assert m.key in recovered.clears


def test_a_failing_sink_is_never_told_through_a_sink() -> None:
    c = composer()
    status = SourceStatus("notify slack", SourceState.ERROR, "HTTP 500")
    assert c.event(SourceFailed(0, R, "x", EventLevel.ERROR, source=status)) == []
    assert c.due(10_000) == []


def test_a_route_the_traffic_ignores_is_told_and_so_is_its_end() -> None:
    from monotui.model import OutsideChange

    c = composer()
    text = "traffic does not follow the route: router says canary 0 %, 25.4 % of 3,000 requests"
    (off,) = c.event(OutsideChange(10, R, text, EventLevel.WARN, what="traffic"))
    assert off.title == "checkout: the traffic ignores the route" and "25.4 %" in off.text
    assert off.event == "source"
    (back,) = c.event(OutsideChange(70, R, "traffic follows the route again", what="traffic"))
    assert "follows the route again" in back.title and off.key in back.clears
