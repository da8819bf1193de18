"""The flag kinds of the contract suite (tests/test_contract_flags.py), one `FlagCase` each.

Every backend holds the same flags, the demo's checkout flags (`SPECS`): a boolean kill switch that
is on, a string flag, and a disabled boolean. A case names its kind, its backend (a flagd file, a
FeatureFlag on the fake API server, a real OFREP HTTP service, the simulated world), how it can be
broken and what the source then says (`breaks`: how -> (error type, part of its message)), and what
the kind cannot do by nature (`cannot`), which the suite asserts as a refusal. Sources are built
through the registry, as `monotui` builds them. A new flags kind joins with one line in FLAG_CASES.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from monotui.config import Config, KubernetesConfig, RolloutConfig
from monotui.errors import (
    BackendUnavailableError,
    MonotuiError,
    NotFoundError,
    SourceError,
)
from monotui.kinds import Registry
from monotui.model import Weights
from monotui.registry import PRODUCTION, BuildContext
from monotui.sim.kinds import registry_for
from monotui.sim.scenarios import HEALTHY, FlagSpec, checkout_flags, toggled
from monotui.sim.world import World
from monotui.sources.base import FlagSource
from monotui.sources.flags_featureflag import GROUP, PLURAL, VERSION
from tests.contract_common import closed_port
from tests.fakekube import FakeKube
from tests.ofrep_server import Ofrep, serve_ofrep

ROLLOUT = "checkout"
NS = "shop"
SPECS: tuple[FlagSpec, ...] = checkout_flags()
TIMEOUT_S = 1.0


class FlagCan(StrEnum):
    """What a flags kind may be unable to do by nature."""

    TOGGLE = "toggle"  # toggle a flag, compare-and-set
    DISABLED_DEFAULT = "disabled-default"  # report the default variant of a disabled flag


class BackendSpec(Protocol):
    """How to set up the backend a case's source reads, once per test."""

    def open(self, case: FlagCase, tmp_path: Path) -> LiveFlags: ...


@dataclass(frozen=True)
class FlagCase:
    """One flags kind in the contract suite."""

    kind: str
    backend: BackendSpec
    breaks: Mapping[str, tuple[type[MonotuiError], str]]  # how -> (what it raises, and says)
    cannot: Mapping[FlagCan, str] = field(default_factory=dict)  # what it cannot do, and why

    def can(self, what: FlagCan) -> bool:
        return what not in self.cannot

    def open(self, tmp_path: Path) -> LiveFlags:
        return self.backend.open(self, tmp_path)


class LiveFlags(ABC):
    """One test's backend: its sources built through the registry, changed elsewhere, broken."""

    def __init__(self, case: FlagCase, registry: Registry, ctx: BuildContext) -> None:
        self.case = case
        self.registry = registry
        self.ctx = ctx

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """The `[rollouts.flags]` keys (besides kind) that point at this backend."""

    def build(self, *, rollout: str = ROLLOUT, **settings: Any) -> FlagSource:
        """A source for `rollout`, from its validated table, by the kind's registered builder."""
        table = {"kind": self.case.kind, **self.settings(), **settings}
        data = {"name": rollout, "namespace": NS, "router": {"kind": "none"}}
        data |= {"metrics": {"kind": "none"}, "flags": table}
        config = RolloutConfig.model_validate(data, context={"kinds": self.registry})
        kind = self.registry.get("flags", config.flags.kind)
        source = kind.build(config.flags, config, self.ctx)
        assert isinstance(source, FlagSource), f"{self.case.kind} built {type(source).__name__}"
        return source

    @abstractmethod
    def toggle_elsewhere(self, key: str) -> None:
        """Someone else toggles `key` where the flags are defined."""

    @abstractmethod
    def stored(self) -> object:
        """Everything the backend holds, to compare whole."""

    @abstractmethod
    def broken(self, how: str) -> FlagSource:
        """A source whose backend is broken `how` (a key of the case's `breaks`)."""

    def close(self) -> None:  # noqa: B027 (most backends start nothing)
        """Stop what the backend started."""


def flagd_document(specs: tuple[FlagSpec, ...]) -> dict[str, Any]:
    """The flags as a flagd flag definition."""
    flags = {
        s.key: {"state": s.state, "variants": dict(s.variants), "defaultVariant": s.default_variant}
        for s in specs
    }
    return {"flags": flags}


def toggled_in(specs: tuple[FlagSpec, ...], key: str) -> tuple[FlagSpec, ...]:
    return tuple(toggled(s) if s.key == key else s for s in specs)


# --- backends ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagdFile:
    """A flagd flag-definition file (JSON) in the test's directory."""

    def open(self, case: FlagCase, tmp_path: Path) -> LiveFlags:
        return _FileLive(case, tmp_path / "flags.flagd.json")


class _FileLive(LiveFlags):
    def __init__(self, case: FlagCase, path: Path) -> None:
        self.path = path
        self.specs = SPECS
        self._write(SPECS)
        super().__init__(case, PRODUCTION, BuildContext(Config()))

    def _write(self, specs: tuple[FlagSpec, ...]) -> None:
        self.specs = specs
        self.path.write_text(json.dumps(flagd_document(specs), indent=2) + "\n", encoding="utf-8")

    def settings(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def toggle_elsewhere(self, key: str) -> None:
        self._write(toggled_in(self.specs, key))

    def stored(self) -> object:
        return self.path.read_bytes()

    def broken(self, how: str) -> FlagSource:
        texts = {"garbage": '{"flags": {', "not-flagd": "[1, 2]"}
        if how == "missing":
            self.path.unlink()
        else:
            self.path.write_text(texts[how], encoding="utf-8")
        return self.build()


@dataclass(frozen=True)
class FeatureFlagResource:
    """An OpenFeature FeatureFlag on the fake API server, reached by the real kubernetes client."""

    def open(self, case: FlagCase, tmp_path: Path) -> LiveFlags:
        return _FeatureFlagLive(case, tmp_path)


class _FeatureFlagLive(LiveFlags):
    name = "shop-flags"

    def __init__(self, case: FlagCase, tmp_path: Path) -> None:
        self.fake = FakeKube().start()
        self.specs = SPECS
        self._put({"flagSpec": flagd_document(SPECS)})
        kubeconfig = self.fake.write_kubeconfig(tmp_path / "kubeconfig")
        ctx = BuildContext(Config(kubernetes=KubernetesConfig(kubeconfig=kubeconfig)))
        ctx.kube().timeout_s = TIMEOUT_S
        super().__init__(case, PRODUCTION, ctx)

    def _put(self, spec: dict[str, Any]) -> None:
        meta = {"name": self.name, "namespace": NS}
        kind = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "FeatureFlag"}
        self.fake.put_object({**kind, "metadata": meta, "spec": spec})

    def settings(self) -> dict[str, Any]:
        return {"name": self.name}

    def toggle_elsewhere(self, key: str) -> None:
        self.specs = toggled_in(self.specs, key)
        self._put({"flagSpec": flagd_document(self.specs)})

    def stored(self) -> object:
        return self.fake.get_object(GROUP, VERSION, PLURAL, NS, self.name)

    def broken(self, how: str) -> FlagSource:
        if how == "missing":
            self.fake.delete_object(GROUP, PLURAL, NS, self.name)
        elif how == "garbage":
            self._put({"flagSpec": "flags: yes"})
        elif how == "500":
            self.fake.fail_next(1, 500, method="GET", message="etcdserver: request timed out")
        elif how == "unreachable":
            self.fake.down()
        else:
            raise ValueError(how)
        return self.build()

    def close(self) -> None:
        self.ctx.close()
        self.fake.stop()


def ofrep_body(specs: tuple[FlagSpec, ...]) -> dict[str, Any]:
    """What flagd's OFREP service answers for these flags: a disabled flag is FLAG_NOT_FOUND
    "... is disabled" (flagd >= 0.11), an enabled one its default variant."""
    items: list[dict[str, Any]] = []
    for s in specs:
        if s.state != "ENABLED":
            details = f"flag `{s.key}` is disabled"
            items.append({"key": s.key, "errorCode": "FLAG_NOT_FOUND", "errorDetails": details})
            continue
        value = dict(s.variants)[s.default_variant]
        items.append({"key": s.key, "value": value, "variant": s.default_variant})
        items[-1]["reason"] = "STATIC"
    return {"flags": items}


@dataclass(frozen=True)
class OfrepService:
    """A real OFREP HTTP service on loopback evaluating the flags."""

    def open(self, case: FlagCase, tmp_path: Path) -> LiveFlags:
        return _OfrepLive(case)


class _OfrepLive(LiveFlags):
    def __init__(self, case: FlagCase) -> None:
        self._stack = ExitStack()
        self.service: Ofrep = self._stack.enter_context(serve_ofrep(Ofrep(body=ofrep_body(SPECS))))
        super().__init__(case, PRODUCTION, BuildContext(Config()))

    def settings(self) -> dict[str, Any]:
        return {"url": self.service.url, "timeout_s": TIMEOUT_S}

    def toggle_elsewhere(self, key: str) -> None:
        raise NotImplementedError("OFREP sources are read-only: nothing to conflict with")

    def stored(self) -> object:
        return replace(self.service, requests=[])

    def broken(self, how: str) -> FlagSource:
        if how == "unreachable":
            return self.build(url=f"http://127.0.0.1:{closed_port()}")
        answers = {
            "500": (500, {"errorDetails": "flag store down"}),
            "garbage": (200, b"<html>proxy login</html>"),
            "404": (404, {"errorCode": "GENERAL", "errorDetails": "no such path"}),
        }
        self.service.status, self.service.body = answers[how]
        return self.build()

    def close(self) -> None:
        self._stack.close()


@dataclass(frozen=True)
class SimFlagsWorld:
    """The demo's simulated world, holding the checkout flags."""

    def open(self, case: FlagCase, tmp_path: Path) -> LiveFlags:
        return _SimLive(case)


class _SimLive(LiveFlags):
    def __init__(self, case: FlagCase) -> None:
        self.world = World(7)
        self.world.add_rollout(ROLLOUT, NS, HEALTHY, weights=Weights(99, 1), flags=SPECS)
        super().__init__(case, registry_for(self.world), BuildContext(Config(), context="sim"))

    def settings(self) -> dict[str, Any]:
        return {}

    def toggle_elsewhere(self, key: str) -> None:
        self.world.toggle_flag(ROLLOUT, key)

    def stored(self) -> object:
        return self.world.flags(ROLLOUT)

    def broken(self, how: str) -> FlagSource:
        if how != "missing":
            raise ValueError(how)
        return self.build(rollout="ratings")  # a rollout the world does not have


FLAG_CASES: tuple[FlagCase, ...] = (
    FlagCase(
        "flagd-file",
        FlagdFile(),
        breaks={
            "missing": (NotFoundError, "does not exist: check [rollouts.flags] path"),
            "garbage": (SourceError, "is not valid JSON"),
            "not-flagd": (SourceError, "is not a flagd definition"),
        },
    ),
    FlagCase(
        "featureflag",
        FeatureFlagResource(),
        breaks={
            "missing": (NotFoundError, "featureflag shop-flags not found in namespace shop"),
            "garbage": (SourceError, "has no spec.flagSpec"),
            "500": (BackendUnavailableError, "answered 500"),
            "unreachable": (BackendUnavailableError, "unreachable"),
        },
    ),
    FlagCase(
        "ofrep",
        OfrepService(),
        breaks={
            "500": (BackendUnavailableError, "failed (HTTP 500): flag store down"),
            "garbage": (SourceError, "not valid JSON"),
            "404": (NotFoundError, "without /ofrep/v1"),
            "unreachable": (BackendUnavailableError, "cannot reach"),
        },
        cannot={
            FlagCan.TOGGLE: "OFREP only evaluates flags: they change where they are defined",
            FlagCan.DISABLED_DEFAULT: "OFREP evaluates: a disabled flag answers no variant",
        },
    ),
    FlagCase(
        "sim",
        SimFlagsWorld(),
        breaks={"missing": (NotFoundError, "no simulated rollout named 'ratings'")},
    ),
)
"""Every flags kind, production and simulated. A new kind: one line here."""
