"""Weights in a Gateway API HTTPRoute (gateway.networking.k8s.io/v1, falling back to v1beta1), or
a GRPCRoute (`route_kind = "GRPCRoute"`: v1, falling back to v1alpha2; the same rules and
backendRefs).

`spec.rules[i].backendRefs[*].weight` is proportional (default 1; 0 sends nothing): the rule's
weights are shown as whole percentages summing to 100 (1/1 is 50/50, 3/1 is 75/25), and written as
percentages summing to 100. The rule is `[rollouts.router] route` (its index, or its name: Gateway
API v1.2+ `rules[].name`), or the only rule, or the only rule whose backendRefs are exactly the
stable and the canary backend (matched by name).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from monotui.errors import ConfigError, MonotuiError, NotFoundError, SourceError
from monotui.model import Weights
from monotui.sources import jsonpatch, kube_http, track_routes
from monotui.sources.base import RouteState
from monotui.sources.kube_router import (
    ROLES,
    KubeRouter,
    Layout,
    TwoWaySettings,
    match_roles,
    percentages,
    targeted,
    whole_weight,
)


class GatewaySettings(TwoWaySettings):
    """`[rollouts.router] kind = "gateway-api"`: an HTTPRoute, or a GRPCRoute."""

    kind: Literal["gateway-api"] = "gateway-api"
    route_kind: Literal["HTTPRoute", "GRPCRoute"] = "HTTPRoute"
    """The route object steered: an HTTPRoute, or a GRPCRoute (gRPC services)."""


_OBJECTS = {
    "HTTPRoute": (("v1", "v1beta1"), "httproutes", "httproute"),
    "GRPCRoute": (("v1", "v1alpha2"), "grpcroutes", "grpcroute"),
}
"""Per route kind: the API versions tried (newest first), the plural and the singular."""


class GatewayRouter(KubeRouter):
    """The weights of one HTTPRoute (or GRPCRoute) rule's two backendRefs."""

    settings = GatewaySettings
    cfg: GatewaySettings
    kind = "gateway-api"
    group = "gateway.networking.k8s.io"
    versions, plural, singular = _OBJECTS["HTTPRoute"]  # the default route_kind

    def _served(self) -> tuple[tuple[str, ...], str, str]:
        return _OBJECTS[self.cfg.route_kind]

    @property
    def route_kind(self) -> str:
        """HTTPRoute or GRPCRoute."""
        return self.cfg.route_kind

    def read(self) -> RouteState:
        """The weights now; a GRPCRoute of the configured name is named as such, not 'not found'."""
        try:
            return super().read()
        except NotFoundError as exc:
            if (
                self.route_kind != "HTTPRoute"
                or self.object.api_version is None
                or not self._is_grpc_route()
            ):
                raise  # the API itself is missing, or there is really nothing of that name
            raise NotFoundError(
                f"{self.namespace}/{self.name} is a GRPCRoute, not an HTTPRoute: set "
                '[rollouts.router] route_kind = "GRPCRoute" to steer it '
                f"({exc})"
            ) from None

    def _is_grpc_route(self) -> bool:
        """Whether a GRPCRoute of our name exists (only asked after the HTTPRoute was not found)."""
        for version in _OBJECTS["GRPCRoute"][0]:
            try:
                kube_http.call(
                    self.kube.custom.get_namespaced_custom_object,
                    self.group,
                    version,
                    self.namespace,
                    "grpcroutes",
                    self.name,
                    timeout_s=self.kube.timeout_s,
                )
            except Exception:  # unserved, missing, forbidden, unreachable: we cannot tell
                continue
            return True
        return False

    def _layout(self, obj: dict[str, Any]) -> Layout:
        spec = obj.get("spec")
        rules = spec.get("rules") if isinstance(spec, dict) else None
        if not isinstance(rules, list) or not rules:
            raise SourceError(f"{self.resource} has no spec.rules: is it a {self.route_kind}?")
        index = self._rule(rules)
        refs = rules[index].get("backendRefs") if isinstance(rules[index], dict) else None
        if not isinstance(refs, list) or not refs:
            raise SourceError(f"{self.resource}: rule {index} has no backendRefs")
        found = self._found(index, refs)
        what = f"{self.resource}: backendRef weight"
        raw = [whole_weight(refs[found[r]], 1, what) if r in found else 0 for r in ROLES]
        if sum(raw) <= 0:
            raise SourceError(
                f"{self.resource}: every backendRef of rule {index} has weight 0, so the gateway "
                "answers 500 to all of its requests; fix the weights with kubectl"
            )
        stable, canary = percentages(raw)
        note = "" if sum(raw) == 100 else f"weights {raw[0]}:{raw[1]} shown as percentages"

        def build_ops(target: Weights) -> list[jsonpatch.Op]:
            base = ("spec", "rules", index, "backendRefs")
            ops: list[jsonpatch.Op] = []
            # A rule moved to another index is not written blindly: its name pins it, or for an
            # unnamed rule its matches (two path splits to the same backends differ only there).
            rule = rules[index]
            name = _name(rule)
            if name is not None:
                ops.append(jsonpatch.test(jsonpatch.pointer("spec", "rules", index, "name"), name))
            elif rule.get("matches") is not None:
                where = jsonpatch.pointer("spec", "rules", index, "matches")
                ops.append(jsonpatch.test(where, rule["matches"]))
            # Pins the backendRef names, their order and count, and every weight as last read.
            ops.append(jsonpatch.test(jsonpatch.pointer(*base), refs))
            for role in ROLES:
                want = target.stable if role == "stable" else target.canary
                if role not in found:
                    if want:
                        raise MonotuiError(
                            f"{self.resource}: rule {index} has no {role} backendRef "
                            f"'{getattr(self.cfg, role)}'; add it with weight 0, then steer again"
                        )
                    continue
                ref = refs[found[role]]
                if ref.get("weight", 1) != want or "weight" not in ref:
                    path = jsonpatch.pointer(*base, found[role], "weight")
                    ops.append(jsonpatch.set_value(path, want, present="weight" in ref))
            return ops

        def track_ops(on: bool) -> list[jsonpatch.Op]:
            grpc = self.route_kind == "GRPCRoute"  # its matches have no path
            return track_routes.gateway_ops(rules, index, found, on, grpc=grpc)

        present = track_routes.gateway_present(rules)
        return Layout(Weights(stable, canary), note, build_ops, present, track_ops)

    def _rule(self, rules: list[Any]) -> int:
        wanted = self.cfg.route
        if wanted is not None and str(wanted) != "":
            for i, rule in enumerate(rules):  # rules[].name: Gateway API v1.2 and later
                if isinstance(rule, dict) and rule.get("name") == str(wanted):
                    return i
            try:
                index = int(wanted)
            except ValueError:
                if any(_name(rule) for rule in rules):
                    raise NotFoundError(
                        f"{self.resource} has no rule named '{wanted}' (rules: "
                        f"{', '.join(_label(i, r) for i, r in enumerate(rules))}): "
                        "fix [rollouts.router] route"
                    ) from None
                raise ConfigError(
                    f"rollout {self.rollout.name}: [rollouts.router] route must be a rule index "
                    f"for gateway-api (the rules of {self.resource} have no names), got '{wanted}'"
                ) from None
            if not 0 <= index < len(rules):
                raise NotFoundError(
                    f"{self.resource} has no rule {index} (it has {len(rules)}): "
                    "fix [rollouts.router] route"
                )
            return index
        if len(rules) == 1:
            return 0
        both = [i for i, rule in enumerate(rules) if self._both(rule)]
        general = [i for i in both if not targeted(rules[i].get("matches"))]
        if len(general) == 1:  # the split; rules for testers (header matches) are left alone
            return general[0]
        if len(both) == 1:
            name = _name(rules[both[0]])
            raise ConfigError(
                f"{self.resource}: the only rule to both '{self.cfg.stable}' and "
                f"'{self.cfg.canary}', rule {_label(both[0], rules[both[0]])}, takes only requests "
                "matched by header or query (testers, an A/B test), not the general traffic: set "
                f"[rollouts.router] route = {json.dumps(name) if name else both[0]} to steer it "
                "anyway"
            )
        which = f" (rules {', '.join(_label(i, rules[i]) for i in both)})" if both else ""
        example = both[0] if both else 0
        name = _name(rules[example])
        raise ConfigError(
            f"{self.resource} has {len(rules)} rules and {len(both)} of them route to both "
            f"'{self.cfg.stable}' and '{self.cfg.canary}'{which}: set [rollouts.router] route "
            "to the rule to steer, by index or name "
            f"(e.g. route = {json.dumps(name) if name else example})"
        )

    def _both(self, rule: Any) -> bool:
        refs = rule.get("backendRefs") if isinstance(rule, dict) else None
        names = sorted(str(r.get("name")) for r in refs or [] if isinstance(r, dict))
        return names == sorted([self.cfg.stable, self.cfg.canary])

    def _found(self, index: int, refs: list[Any]) -> dict[str, int]:
        names = [ref.get("name") if isinstance(ref, dict) else None for ref in refs]
        found, others = match_roles(names, self.cfg.stable, self.cfg.canary)
        if others:
            raise SourceError(
                f"{self.resource}: rule {index} also routes to {', '.join(others)}; monotui steers "
                f"exactly two backends, {self.cfg.stable} and {self.cfg.canary}: check "
                "[rollouts.router] stable/canary/route"
            )
        if not found:
            raise NotFoundError(
                f"{self.resource}: rule {index} has no backendRef named '{self.cfg.stable}' or "
                f"'{self.cfg.canary}': check [rollouts.router] stable/canary"
            )
        return found


def _name(rule: Any) -> str | None:
    name = rule.get("name") if isinstance(rule, dict) else None
    return str(name) if name else None


def _label(i: int, rule: Any) -> str:
    """A rule in words: its index, and its name when it has one ("0 (split)")."""
    name = _name(rule)
    return f"{i} ({name})" if name else str(i)
