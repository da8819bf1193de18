"""Textual widgets of monotui; they import textual, textual_plotext, monotui.model and the sanitiser
(monotui.outside_text) only."""

from widgets.error_rate_chart import ErrorRateChart
from widgets.event_log import EventLog
from widgets.flags_table import FlagsTable
from widgets.fleet_table import FleetTable
from widgets.latency_chart import LatencyChart
from widgets.plan_panel import PlanPanel
from widgets.rollout_header import RolloutHeader
from widgets.synthetics_panel import SyntheticsPanel
from widgets.verdict_panel import VerdictPanel
from widgets.weights_panel import WeightsPanel

__all__ = [
    "ErrorRateChart",
    "EventLog",
    "FlagsTable",
    "FleetTable",
    "LatencyChart",
    "PlanPanel",
    "RolloutHeader",
    "SyntheticsPanel",
    "VerdictPanel",
    "WeightsPanel",
]
