"""Frozen data shared by the core and the widgets: no behaviour beyond validation and derivation.

Times are POSIX seconds (float) from the rollout's clock, which is the simulated clock in the demo.
Error rates are fractions 0..1, weights and splits are percentages, latencies milliseconds.
"""

from monotui.model.autopilot import AutopilotStatus, LeadershipChanged
from monotui.model.events import (
    ActionEvent,
    AutomationPaused,
    Event,
    EventLevel,
    OutsideChange,
    SourceFailed,
    SourceRecovered,
    VerdictChanged,
)
from monotui.model.rollout import (
    Action,
    ActionKind,
    ActionResult,
    Flag,
    JSONValue,
    Phase,
    Plan,
    SourceState,
    SourceStatus,
    Weights,
)
from monotui.model.samples import (
    MetricSpec,
    Pair,
    Sample,
    Series,
    Side,
    Split,
    pooled,
    since,
    total_requests,
)
from monotui.model.snapshot import Snapshot
from monotui.model.split_check import SplitDisagreement
from monotui.model.synthetics import CANARY_TRACKS, TRACKS, ProbeCell, ProbeState, Synthetics
from monotui.model.verdict import Evidence, MetricLabel, MetricVerdict, Verdict, VerdictResult

__all__ = [
    "CANARY_TRACKS",
    "TRACKS",
    "ProbeCell",
    "ProbeState",
    "Synthetics",
    "Action",
    "ActionEvent",
    "ActionKind",
    "ActionResult",
    "AutomationPaused",
    "AutopilotStatus",
    "Event",
    "Evidence",
    "EventLevel",
    "Flag",
    "JSONValue",
    "LeadershipChanged",
    "MetricLabel",
    "MetricSpec",
    "MetricVerdict",
    "OutsideChange",
    "Pair",
    "Phase",
    "Plan",
    "Sample",
    "Series",
    "Side",
    "Snapshot",
    "SourceFailed",
    "SourceRecovered",
    "SourceState",
    "SourceStatus",
    "Split",
    "SplitDisagreement",
    "VerdictChanged",
    "Verdict",
    "VerdictResult",
    "Weights",
    "pooled",
    "since",
    "total_requests",
]
