"""One rollout in three parts: the observer (reads, never writes), the actuator (writes
compare-and-set, audits, tells) and the automation (the policy's decisions through the actuator),
built from the configuration by `build_rollouts` or from sources by `assemble`."""

from monotui.rollout.build import assemble, build_rollouts
from monotui.rollout.rollout import Rollout

__all__ = ["Rollout", "assemble", "build_rollouts"]
