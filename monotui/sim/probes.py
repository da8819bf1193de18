"""The demo's synthetic probes: a small shop per version on loopback (monotui.sim.apps) probed
by the production `http` kind, and blackbox-shaped results (probe_success, duration, status)
drawn from the world, as blackbox_exporter would have scraped them.

The checkout canary fails while its scenario is a bad canary and `new-checkout` is on, or when a
probe forces the flag with `x-flag-new-checkout: on`. Latencies are the world's simulated ones
(each version's median), so a seed always draws the same screen. Blackbox results come one per
interval, passing with the version's error probability at that moment, drawn from a hash of
(seed, rollout, track, slot): the same at every read, whatever the order of reads.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Mapping
from typing import Any

from monotui.config import RolloutConfig
from monotui.sim.apps import VersionApp
from monotui.sim.scenarios import flag_value
from monotui.sim.world import BASELINE, CANARY, World
from monotui.sources.synthetics.base import ProbeResult, SyntheticSource, TrackReading
from monotui.sources.synthetics.http_probe import HttpProbe
from monotui.sources.synthetics.settings import BlackboxSettings, HttpProbeSettings

FLAG = "new-checkout"
FLAG_HEADER = "x-flag-new-checkout"


def version_of(track: str) -> str:
    return BASELINE if track == "baseline" else CANARY


class DemoShop:
    """The two versions' apps of one simulated rollout."""

    def __init__(self, world: World, rollout: str) -> None:
        scenario = world.scenario(rollout)
        bad = (
            scenario.canary.error_probability(100)
            > 2 * scenario.baseline.error_probability(100) + 0.01
        )

        def flag_on() -> bool:
            flags, _ = world.flags(rollout)
            spec = next((f for f in flags if f.key == FLAG), None)
            return spec is not None and bool(flag_value(spec))

        def canary_fails(headers: Mapping[str, str]) -> bool:
            return bad and (headers.get(FLAG_HEADER) == "on" or flag_on())

        self.apps = {BASELINE: VersionApp(BASELINE), CANARY: VersionApp(CANARY, canary_fails)}

    def url(self, track: str) -> str:
        return self.apps[version_of(track)].url

    def close(self) -> None:
        for app in self.apps.values():
            app.close()


def demo_synthetics(shop: DemoShop) -> list[dict[str, Any]]:
    """`[[rollouts.synthetics]]` of the demo's checkout: an http probe of its shop on every
    track, and blackbox results of its home page."""
    tracks = ("baseline", "canary", "canary+flag")
    return [
        {
            "name": "checkout-submit",
            "kind": "http",
            "url": f"{shop.url('canary')}/checkout",
            "urls": {t: f"{shop.url(t)}/checkout" for t in tracks},
            "method": "POST",
            "headers": {"content-type": "application/json"},
            "body": '{"cart": [42]}',
            "expect_json": "$.status",
            "expect_json_equals": "ok",
            "tracks": list(tracks),
            "flag": {"key": FLAG, "headers": {FLAG_HEADER: "on"}},
            "timeout_s": 2,
        },
        {
            "name": "home-page",
            "kind": "blackbox",
            "match": {
                "baseline": 'job="blackbox", instance="http://checkout-v1.shop/"',
                "canary": 'job="blackbox", instance="http://checkout-v2.shop/"',
            },
        },
    ]


class DemoHttpProbe(HttpProbe):
    """The production http probe on the demo's shop, with the world's latencies; closing it
    stops the shop."""

    def __init__(
        self,
        settings: HttpProbeSettings,
        world: World,
        rollout: RolloutConfig,
        shop: DemoShop | None,
    ) -> None:
        def simulated(track: str, measured: float) -> float:
            return latency_ms(world, rollout.name, track)

        super().__init__(settings, interval_s=rollout.interval_s, latency_ms=simulated)
        self.shop = shop

    def close(self) -> None:
        super().close()
        if self.shop is not None:
            self.shop.close()


class SimBlackbox:
    """Blackbox results drawn from the world, one per interval and track."""

    kind = "blackbox"

    def __init__(self, settings: BlackboxSettings, world: World, rollout: str, interval_s: float):
        self.settings = settings
        self.name = settings.name
        self.tracks: tuple[str, ...] = tuple(settings.tracks)
        self.flag_key = settings.flag.key if settings.flag is not None else None
        self.interval_s = settings.interval_s or interval_s
        self.world = world
        self.rollout = rollout
        self._since: float | None = None

    def header_tracks(self) -> tuple[str, ...]:
        return ()

    def curl(self, track: str) -> str | None:
        return None

    def close(self) -> None:
        """Nothing to release."""

    def read(self, now: float, reachable: frozenset[str]) -> tuple[TrackReading, ...]:
        since = self._since if self._since is not None else now - self.interval_s
        self._since = now
        first = math.floor(since / self.interval_s) + 1
        slots = range(first, math.floor(now / self.interval_s) + 1)
        return tuple(self._track(track, slots) for track in self.tracks)

    def _track(self, track: str, slots: range) -> TrackReading:
        version = version_of(track)
        p_err = self.world.error_probability(self.rollout, version)
        passes = failures = 0
        newest: ProbeResult | None = None
        for slot in slots:
            key = f"{self.world.seed}/{self.rollout}/{self.name}/{track}/{slot}".encode()
            ok = random.Random(zlib.crc32(key)).random() >= p_err
            passes, failures = passes + ok, failures + (not ok)
            reason = "" if ok else "status 503"
            latency = latency_ms(self.world, self.rollout, track)
            newest = ProbeResult(ok, reason, latency, slot * self.interval_s)
        return TrackReading(track, passes, failures, newest)


def latency_ms(world: World, rollout: str, track: str) -> float:
    """The version's simulated median latency (the canary's follows its kill switch)."""
    scenario = world.scenario(rollout)
    if version_of(track) == BASELINE:
        return scenario.baseline.latency_median_ms
    flags, _ = world.flags(rollout)
    switch = next((f for f in flags if f.key == scenario.kill_switch), None)
    on = track == "canary+flag" or switch is None or bool(flag_value(switch))
    return (scenario.canary if on else scenario.baseline).latency_median_ms


def sim_synthetics(world: World, shops: dict[str, DemoShop]) -> Any:
    """The BuildContext's builder of the demo's probes."""

    def build(settings: object, rollout: RolloutConfig) -> SyntheticSource:
        if isinstance(settings, BlackboxSettings):
            return SimBlackbox(settings, world, rollout.name, rollout.interval_s)
        assert isinstance(settings, HttpProbeSettings)
        return DemoHttpProbe(settings, world, rollout, shops.pop(rollout.name, None))

    return build
