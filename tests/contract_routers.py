"""The router kinds of the contract suite (tests/test_contract_routers.py), one `RouterCase` each.

A case names its kind, the world its router steers (an object on the fake API server, the simulated
world, or nothing), the extra `[rollouts.router]` keys, and what the kind cannot do by nature
(`cannot`: capability -> why). Its routers are built through the registry, as `monotui` builds
them. The suite runs every test on every case, and where a case declares that it cannot do
something it asserts that refusal (a watch that returns None, a pause without an author, a world
that cannot be denied) instead of skipping. A new router kind joins with one line in ROUTER_CASES.
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from monotui.config import Config, KubernetesConfig, RolloutConfig
from monotui.kinds import Registry
from monotui.model import ActionKind, Weights
from monotui.registry import PRODUCTION, BuildContext
from monotui.sim.kinds import registry_for
from monotui.sim.scenarios import HEALTHY
from monotui.sim.sources import SimRouter
from monotui.sim.world import World
from monotui.sources.base import PauseStore, Router, RouteState, StepRouter, WriteResult
from tests.argo_helpers import comparable, running
from tests.contract_common import Unsupported, closed_port
from tests.fakekube import ApiSpec, FakeKube, KubeContext
from tests.fakekube.jsonpatch import apply_json_patch
from tests.fakekube.kubeconfig import write_kubeconfig
from tests.router_helpers import NS, http_route, virtual_service

ROLLOUT = "reviews"
TIMEOUT_S = 1.0  # the Kubernetes request timeout of the routers under test
HOWS_UNREACHABLE = ("stopped", "wrong-port", "silent")


class Can(StrEnum):
    """What a router kind may be unable to do by nature."""

    WRITE = "write"  # change the route at all (write, or a StepRouter's act)
    WEIGHTS = "weights"  # write any weights (a StepRouter moves by its own steps)
    PAUSE = "pause"  # store the automation pause with the route, shared by every instance
    PAUSE_BY = "pause-by"  # store who paused and why along with it
    WATCH = "watch"  # follow changes made elsewhere
    RBAC = "rbac"  # be refused by RBAC (403)
    MISSING = "missing"  # name an object that does not exist (404)
    NETWORK = "network"  # be unreachable: server stopped, wrong port, no answer
    WIRE = "wire"  # show what it sent (a server that records requests)


class WorldSpec(Protocol):
    """How to set up the world a case's router steers, once per test."""

    def open(self, case: RouterCase, tmp_path: Path) -> LiveWorld: ...


@dataclass(frozen=True)
class RouterCase:
    """One router kind in the contract suite."""

    kind: str
    world: WorldSpec
    router: Mapping[str, Any] = field(default_factory=dict)  # more [rollouts.router] keys
    cannot: Mapping[Can, str] = field(default_factory=dict)  # what it cannot do, and why

    def can(self, what: Can) -> bool:
        return what not in self.cannot

    def open(self, tmp_path: Path) -> LiveWorld:
        return self.world.open(self, tmp_path)


class LiveWorld(ABC):
    """One test's world: its routers built through the registry, changed elsewhere, broken."""

    def __init__(self, case: RouterCase, registry: Registry, ctx: BuildContext) -> None:
        self.case = case
        self.registry = registry
        self.ctx = ctx

    def build(
        self, *, name: str = ROLLOUT, read_only: bool = False, ctx: BuildContext | None = None
    ) -> Router:
        """A router for rollout `name`, from its validated table, by the kind's registered builder."""
        table = {"kind": self.case.kind, **self.case.router}
        rollout = RolloutConfig.model_validate(
            {"name": name, "namespace": NS, "router": table, "metrics": {"kind": "none"}},
            context={"kinds": self.registry},
        )
        ctx = ctx or self.ctx
        if read_only:
            ctx = dataclasses.replace(ctx, read_only=True)  # shares the connection
        router = self.registry.get("router", rollout.router.kind).build(
            rollout.router, rollout, ctx
        )
        assert isinstance(router, Router), f"{self.case.kind} built {type(router).__name__}"
        return router

    @abstractmethod
    def change_elsewhere(self) -> None:
        """Another writer (kubectl, the Argo controller) moves the weights."""

    @abstractmethod
    def stored(self) -> object:
        """Everything the backend holds for the route, to compare whole (version included)."""

    @abstractmethod
    def document(self) -> dict[str, Any]:
        """The routed object as JSON, as the router's patches apply to it."""

    def sent(self) -> list[tuple[str, Any]]:
        """(path, body) of every write request the backend received."""
        raise Unsupported("no server records what is sent")

    def deny(self, verb: str) -> None:
        """Answer 403 to `verb` on everything in the namespace."""
        raise Unsupported("nothing here answers 403")

    def allow_all(self) -> None:
        raise Unsupported("nothing here answers 403")

    def unreachable(self, how: str) -> Router:
        """A router whose backend cannot be reached `how` (one of HOWS_UNREACHABLE)."""
        raise Unsupported("nothing here is reached over a network")

    def close(self) -> None:  # noqa: B027 (most worlds start nothing)
        """Stop what the world started."""


def write_once(router: Router, state: RouteState, *, dry_run: bool = False) -> WriteResult:
    """The suite's write: other weights, or for a StepRouter its advance."""
    if isinstance(router, StepRouter):
        return router.act(ActionKind.ADVANCE, state, dry_run=dry_run)
    return router.write(other_weights(state.weights), state, dry_run=dry_run)


def store_pause(router: Router, paused: bool, by: str, state: RouteState) -> WriteResult:
    """Pause or resume the automation where the router stores it, as the actuator does."""
    if isinstance(router, StepRouter):
        return router.act(ActionKind.PAUSE if paused else ActionKind.RESUME, state)
    assert isinstance(router, PauseStore), f"{router.kind} stores no pause"
    return router.set_pause(paused, by, state)


def other_weights(weights: Weights) -> Weights:
    return Weights.canary_at(25 if weights.canary != 25 else 50)


def patches_in(text: str) -> list[tuple[str | None, list[Any]]]:
    """The JSON patches of a router's patch text: `[ops]` (Istio, Gateway API), or one line
    `endpoint [ops]` per patch (Argo Rollouts: the object and its /status)."""
    out: list[tuple[str | None, list[Any]]] = []
    for line in text.splitlines():
        if line.startswith("["):
            out.append((None, json.loads(line)))
        else:
            endpoint, _, body = line.partition(" ")
            out.append((endpoint, json.loads(body)))
    return out


def applied(document: dict[str, Any], text: str) -> dict[str, Any]:
    """`document` after the patches of `text`, in order, without what a server bumps."""
    for _, ops in patches_in(text):
        document = apply_json_patch(document, ops)
    return comparable(document)


# --- worlds --------------------------------------------------------------------------------------


def _context(kubeconfig: Path) -> BuildContext:
    ctx = BuildContext(Config(kubernetes=KubernetesConfig(kubeconfig=kubeconfig)))
    ctx.kube().timeout_s = TIMEOUT_S  # a request that gets no answer fails in a second
    return ctx


@dataclass(frozen=True)
class KubeObjectWorld:
    """A custom object on the fake API server, reached by the real kubernetes client: `start` is
    stored before each test, `elsewhere` is what another writer puts over it. `serve`: an API
    group the fake does not serve by default (tests/fakekube/apis.py DEFAULT_APIS)."""

    plural: str
    start: Callable[[], dict[str, Any]]
    elsewhere: Callable[[], dict[str, Any]]
    serve: ApiSpec | None = None

    def open(self, case: RouterCase, tmp_path: Path) -> LiveWorld:
        return _KubeLive(case, self, tmp_path)


class _KubeLive(LiveWorld):
    def __init__(self, case: RouterCase, spec: KubeObjectWorld, tmp_path: Path) -> None:
        self.spec = spec
        self.tmp_path = tmp_path
        self.fake = FakeKube().start()
        if spec.serve is not None:
            self.fake.serve(spec.serve.group, spec.serve.versions, spec.serve.kinds)
        obj = self.fake.put_object(spec.start())
        self.group, _, self.version = obj["apiVersion"].rpartition("/")
        self.name = obj["metadata"]["name"]
        self._contexts = [_context(self.fake.write_kubeconfig(tmp_path / "kubeconfig"))]
        super().__init__(case, PRODUCTION, self._contexts[0])

    def change_elsewhere(self) -> None:
        self.fake.put_object(self.spec.elsewhere())

    def stored(self) -> object:
        return self.document()

    def document(self) -> dict[str, Any]:
        return self.fake.get_object(self.group, self.version, self.spec.plural, NS, self.name)

    def sent(self) -> list[tuple[str, Any]]:
        writes = ("PATCH", "PUT", "POST", "DELETE")
        return [(r.path, r.body) for r in list(self.fake.requests) if r.method in writes]

    def deny(self, verb: str) -> None:
        self.fake.deny(verb, None, NS)

    def allow_all(self) -> None:
        self.fake.allow_all()

    def unreachable(self, how: str) -> Router:
        if how == "wrong-port":
            url = f"http://127.0.0.1:{closed_port()}"
            path = self.tmp_path / "kubeconfig-wrong-port"
            write_kubeconfig(path, url, {}, [KubeContext("fake")], "fake", None)
            self._contexts.append(_context(path))
            return self.build(ctx=self._contexts[-1])
        router = self.build()
        router.read()  # it worked a moment ago
        if how == "stopped":
            self.fake.down()
        elif how == "silent":
            self.fake.latency_s = 10 * TIMEOUT_S  # accepts, then says nothing for too long
        else:
            raise ValueError(how)
        return router

    def close(self) -> None:
        for ctx in self._contexts:
            ctx.close()
        self.fake.latency_s = 0.0
        self.fake.stop()


@dataclass(frozen=True)
class SimWorld:
    """The demo's simulated world, with the rollout's route at 90/10."""

    def open(self, case: RouterCase, tmp_path: Path) -> LiveWorld:
        return _SimLive(case)


class _SimLive(LiveWorld):
    def __init__(self, case: RouterCase) -> None:
        self.world = World(7)
        self.world.add_rollout(ROLLOUT, NS, HEALTHY, weights=Weights(90, 10))
        super().__init__(case, registry_for(self.world), BuildContext(Config(), context="sim"))

    def change_elsewhere(self) -> None:
        self.world.set_weights(ROLLOUT, Weights(70, 30))

    def stored(self) -> object:
        return self.world.route(ROLLOUT), self.world.pause(ROLLOUT)

    def document(self) -> dict[str, Any]:
        view = SimRouter(self.world, ROLLOUT)  # the VirtualService the route stands for
        return view.virtual_service(view.read())


@dataclass(frozen=True)
class NoWorld:
    """No router at all (kind "none"): nothing is stored anywhere."""

    def open(self, case: RouterCase, tmp_path: Path) -> LiveWorld:
        return _NoLive(case, PRODUCTION, BuildContext(Config()))


class _NoLive(LiveWorld):
    def change_elsewhere(self) -> None:
        raise Unsupported("there is no route for anyone to change")

    def stored(self) -> object:
        return None

    def document(self) -> dict[str, Any]:
        return {}


_NO_ROUTER = "kind none manages no weights: it reads 100/0 from nowhere and writes nothing"

ROUTER_CASES: tuple[RouterCase, ...] = (
    RouterCase(
        "istio",
        KubeObjectWorld(
            "virtualservices", lambda: virtual_service(10), lambda: virtual_service(30)
        ),
        {"route": "primary"},
    ),
    RouterCase(
        "gateway-api",
        KubeObjectWorld("httproutes", lambda: http_route(90, 10), lambda: http_route(70, 30)),
        {"stable": "reviews-v1", "canary": "reviews-v2"},
    ),
    RouterCase(
        "argo",
        KubeObjectWorld(
            "rollouts", lambda: running(currentStepIndex=1), lambda: running(currentStepIndex=4)
        ),
        cannot={
            Can.WEIGHTS: "Argo Rollouts moves the weights by its own steps: advance is its write",
            Can.PAUSE_BY: "its pause is spec.paused, which stores no who or why",
        },
    ),
    RouterCase(
        "sim",
        SimWorld(),
        cannot={
            Can.RBAC: "the simulated world has no RBAC",
            Can.WATCH: "the observer notices outside writes at its next poll",
            Can.NETWORK: "the simulated world is in the process",
            Can.WIRE: "nothing is sent: the patch is checked on the VirtualService it stands for",
        },
    ),
    RouterCase("none", NoWorld(), cannot=dict.fromkeys(Can, _NO_ROUTER)),
)
"""Every router kind, production and simulated. A new kind: one line here."""
