"""`status --json` writes exactly the text `json.dumps(indent=2)` wrote: scripts that diff or grep
it see no change, whatever a rollout's names, numbers and empty sections are."""

from __future__ import annotations

import enum
import json
from typing import Any

from monotui.json_text import indented


class Phase(enum.StrEnum):
    PROGRESSING = "Progressing"


class Weight(enum.IntEnum):
    TEN = 10


def test_the_same_text_as_the_standard_encoder() -> None:
    snapshot: dict[str, Any] = {
        "name": 'svc-"ünïcode"\n\u2028\U0001f600',
        "phase": Phase.PROGRESSING,
        "weights": {"stable": 90, "canary": Weight.TEN},
        "rates": [0.1, 1e-300, 1e22, -0.0, 123456789.123456789, float("nan"), float("inf")],
        "none": None,
        "flags": (True, False),
        "empty": {"list": [], "dict": {}, "tuple": ()},
        "nested": [[{"a": [1, [2, []]]}]],
    }
    value = {"rollouts": [snapshot, {}, []]}
    assert indented(value) == json.dumps(value, indent=2)
    assert indented([]) == json.dumps([], indent=2)


def test_keys_and_values_json_writes_its_own_way_are_still_written_by_it() -> None:
    value = {"rollouts": [{1: "one", None: "none", 2.5: "half"}]}
    assert indented(value) == json.dumps(value, indent=2)
