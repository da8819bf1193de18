"""Weights in an Istio VirtualService (networking.istio.io/v1, falling back to v1beta1, v1alpha3).

The http route is found by name (`[rollouts.router] route`), or is the only one, or the only one
sending traffic to both the stable and the canary destination. `stable`/`canary` name a subset or a
host, as the contract says: by default (`match_by = "auto"`) they are matched by
`destination.subset` when a destination has that subset, else by `destination.host` when a
destination without a subset has that host (Argo Rollouts' and Flagger's VirtualServices split by
host); `match_by = "subset"` or `"host"` forces one. tls and tcp routes that send traffic to
exactly the same two destinations are kept in step, in the same patch.

Weights as Istio reads them: one destination alone gets 100 whatever its weight says; a missing
weight is 0. Weights that do not sum to 100 (someone wrote 70/20) are shown as the share of traffic
the proxies really send (Envoy divides by the sum: 78/22), with the raw numbers in the route's
description; a write puts back weights that sum to 100.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from monotui.config import RolloutConfig
from monotui.errors import ConfigError, MonotuiError, NotFoundError, SourceError
from monotui.model import Weights
from monotui.sources import jsonpatch, track_routes
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_informers import InformerPool
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

_Route = tuple[str, int, dict[str, Any]]  # (section, index, the route as read)


class IstioSettings(TwoWaySettings):
    """`[rollouts.router] kind = "istio"`: a VirtualService."""

    kind: Literal["istio"] = "istio"
    match_by: Literal["auto", "subset", "host"] = "auto"
    """Whether `stable`/`canary` name destination subsets or destination hosts; auto: subsets
    when a destination has one of those subsets, else hosts when a destination without a subset
    has one of those hosts."""


class IstioRouter(KubeRouter):
    """The weights of one VirtualService's http route (and its tls/tcp twins)."""

    settings = IstioSettings
    cfg: IstioSettings
    kind = "istio"
    group = "networking.istio.io"
    versions = ("v1", "v1beta1", "v1alpha3")  # each Istio serves the same schema at all
    plural = "virtualservices"
    singular = "virtualservice"

    def __init__(
        self,
        kube: KubeConnection,
        rollout: RolloutConfig,
        *,
        can_write: bool = True,
        informers: InformerPool | None = None,
    ) -> None:
        super().__init__(kube, rollout, can_write=can_write, informers=informers)
        self.route = VirtualServiceRoute(self.cfg, self.namespace, self.resource)

    def _layout(self, obj: dict[str, Any]) -> Layout:
        return self.route.layout(obj)


class VirtualServiceRoute:
    """Where one rollout's weights are in a VirtualService, and the patch ops that move them.
    Pure: no I/O, so the demo's simulated route sends exactly the patch IstioRouter would."""

    def __init__(self, cfg: IstioSettings, namespace: str, resource: str) -> None:
        self.cfg = cfg
        self.namespace = namespace
        self.resource = resource
        self._by = {key: _KeyedRoute(cfg, namespace, resource, key) for key in _KEYS}

    def key_for(self, obj: dict[str, Any]) -> MatchKey:
        """What `stable`/`canary` name in `obj`: the configured key, or the one auto finds."""
        if self.cfg.match_by != "auto":
            return self.cfg.match_by
        spec = obj.get("spec")
        dests = [
            entry["destination"]
            for section in ("http", "tls", "tcp")
            for route in (_routes(spec, section) if isinstance(spec, dict) else [])
            for entry in route.get("route") or []
            if isinstance(entry, dict) and isinstance(entry.get("destination"), dict)
        ]
        subsets = self._by["subset"]
        if any(subsets.named(d.get("subset")) for d in dests):
            return "subset"
        hosts = self._by["host"]
        if any(d.get("subset") is None and hosts.named(d.get("host")) for d in dests):
            return "host"
        return "subset"  # neither: the errors speak of subsets, with a hint about hosts

    def layout(self, obj: dict[str, Any]) -> Layout:
        """The weights as read in `obj` and how to write others."""
        return self._by[self.key_for(obj)].layout(obj)


MatchKey = Literal["subset", "host"]
_KEYS: tuple[MatchKey, ...] = ("subset", "host")


class _KeyedRoute:
    """The route's weights with `stable`/`canary` matched by one key (subset or host)."""

    def __init__(self, cfg: IstioSettings, namespace: str, resource: str, key: MatchKey) -> None:
        self.cfg = cfg
        self.namespace = namespace
        self.resource = resource
        self.key = key
        self.stable = self._short(cfg.stable)
        self.canary = self._short(cfg.canary)

    def named(self, value: Any) -> bool:
        """Whether a destination's subset (or host) is the stable's or the canary's."""
        return value is not None and self._short(str(value)) in (self.stable, self.canary)

    def layout(self, obj: dict[str, Any]) -> Layout:
        """The weights as read in `obj` and how to write others."""
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            raise SourceError(f"{self.resource} has no spec: is it a VirtualService?")
        primary = self._primary(spec)
        twins = [
            (section, i, route)
            for section in ("tls", "tcp")
            for i, route in enumerate(_routes(spec, section))
            if (section, i) != primary[:2] and self._twin(route)
        ]
        weights, note = self._weights(primary)
        touched = [primary, *twins]

        def build_ops(target: Weights) -> list[jsonpatch.Op]:
            ops: list[jsonpatch.Op] = []
            for section, i, route in touched:
                base = ("spec", section, i)
                if route.get("name") is not None:
                    ops.append(jsonpatch.test(jsonpatch.pointer(*base, "name"), route["name"]))
                elif route.get("match") is not None:  # an unnamed route is known by its matches
                    ops.append(jsonpatch.test(jsonpatch.pointer(*base, "match"), route["match"]))
                # Pins the destinations, their order and count, and every weight as last read.
                ops.append(jsonpatch.test(jsonpatch.pointer(*base, "route"), route["route"]))
            for section, i, route in touched:
                ops.extend(self._weight_ops(section, i, route, target))
            return ops

        http = _routes(spec, "http")
        section, index, route = primary
        found = self._entries(section, index, route) if section == "http" else {}

        def track_ops(on: bool) -> list[jsonpatch.Op]:
            return track_routes.istio_ops(http, index, found, on)

        present = track_routes.istio_present(http)
        return Layout(weights, note, build_ops, present, track_ops if section == "http" else None)

    # --- finding things ------------------------------------------------------------------------

    def _primary(self, spec: dict[str, Any]) -> _Route:
        http = _routes(spec, "http")
        wanted = self.cfg.route
        where = f"{self.resource}"
        if wanted is not None and str(wanted) != "":
            for i, route in enumerate(http):
                if route.get("name") == str(wanted):
                    return ("http", i, route)
            index = wanted if isinstance(wanted, int) else int(wanted) if wanted.isdigit() else -1
            # Unnamed routes by index (route = 1 or "1"), not counting monotui's header routes.
            theirs = [i for i, r in enumerate(http) if not track_routes.is_istio_track_route(r)]
            if 0 <= index < len(theirs):
                return ("http", theirs[index], http[theirs[index]])
            raise NotFoundError(
                f"{where} has no http route named '{wanted}' (routes: {_names(http)}): "
                "fix [rollouts.router] route"
            )
        if len(http) == 1:
            return ("http", 0, http[0])
        if not http:
            l4 = [
                (s, i, r)
                for s in ("tls", "tcp")
                for i, r in enumerate(_routes(spec, s))
                if self._twin(r)
            ]
            if l4:
                return l4[0]
            raise SourceError(f"{where} has no http route: add one, or name another resource")
        both = [(i, r) for i, r in enumerate(http) if self._twin(r)]
        general = [(i, r) for i, r in both if not targeted(r.get("match"))]
        if len(general) == 1:  # the split; routes for testers (header matches) are left alone
            return ("http", general[0][0], general[0][1])
        if len(both) == 1:
            i, route = both[0]
            raise ConfigError(
                f"{where}: the only http route to both {self.stable} and {self.canary}, "
                f"{_label('http', i, route)}, takes only requests matched by header or query "
                "(testers, an A/B test), not the general traffic: set [rollouts.router] route = "
                f"{_toml(route['name']) if route.get('name') else i} to steer it anyway"
            )
        # Unnamed routes (bookinfo's, Flagger's) can only be named by index: show how.
        hint = both or [(i, r) for i, r in enumerate(http) if not r.get("match")] or [(0, http[0])]
        i, example = hint[-1]
        named = example.get("name")
        split = f"{len(both)} of them send" if both else "none of them sends"
        raise ConfigError(
            f"{where} has {len(http)} http routes ({_names(http)}) and {split} traffic to both "
            f"{self.stable} and {self.canary}: set [rollouts.router] route to the one to steer, "
            f"by name or index (e.g. route = {_toml(named) if named else i})"
        )

    def _dest(self, entry: Any) -> str | None:
        if not isinstance(entry, dict) or not isinstance(entry.get("destination"), dict):
            return None
        value = entry["destination"].get(self.key)
        return self._short(str(value)) if value is not None else None

    def _short(self, value: str) -> str:
        """A host in the VirtualService's namespace by its short name, as Istio resolves it:
        'reviews' and 'reviews.bookinfo.svc.cluster.local' are the same service."""
        if self.key == "host":
            for suffix in (f".{self.namespace}.svc.cluster.local", f".{self.namespace}.svc"):
                if value.endswith(suffix):
                    return value[: -len(suffix)]
        return value

    def _other(self, entry: Any) -> str:
        """A destination that is neither stable nor canary, in words."""
        value = self._dest(entry)
        if value is not None:
            return f"{value} ({self.key})"
        dest = entry.get("destination") if isinstance(entry, dict) else None
        host = dest.get("host") if isinstance(dest, dict) else None
        return f"host {host} (no {self.key})" if host else "a destination without a host"

    def _twin(self, route: dict[str, Any]) -> bool:
        """Whether the route sends traffic to exactly the stable and the canary destination."""
        dests = [self._dest(e) for e in route.get("route") or []]
        return sorted(map(str, dests)) == sorted([self.stable, self.canary])

    def _entries(self, section: str, i: int, route: dict[str, Any]) -> dict[str, int]:
        """{"stable": index, "canary": index} of the destinations present in the route."""
        entries = route.get("route")
        label = _label(section, i, route)
        delegate = route.get("delegate")
        if isinstance(delegate, dict) and delegate.get("name"):
            # A root VirtualService at the edge hands the route to another one: steer that one.
            ns = str(delegate.get("namespace") or self.namespace)
            where = f" and [[rollouts]] namespace = {_toml(ns)}" if ns != self.namespace else ""
            raise ConfigError(
                f"{self.resource}: {label} delegates to VirtualService {ns}/{delegate['name']}, "
                f"which holds the weights: set [rollouts.router] name = {_toml(delegate['name'])}"
                f"{where}"
            )
        if not isinstance(entries, list) or not entries:
            raise SourceError(f"{self.resource}: {label} has no destinations")
        found, _ = match_roles(map(self._dest, entries), self.stable, self.canary)
        others = [self._other(e) for j, e in enumerate(entries) if j not in found.values()]
        fix = "check [rollouts.router] stable/canary/match_by"
        if self.key == "subset" and all(self._dest(e) is None for e in entries):
            # Argo Rollouts' and Flagger's VirtualServices split by host: say how to read them.
            hosts = [str(e["destination"].get("host")) for e in entries if _has_host(e)]
            fix = "these destinations have no subset: set [rollouts.router] stable/canary to "
            fix += f"their hosts ({', '.join(hosts)})" if hosts else "their hosts"
            if self.cfg.match_by == "subset":
                fix += ' and match_by = "host" (or "auto")'
        if not found:
            raise NotFoundError(
                f"{self.resource}: {label} has no destination with {self.key} '{self.stable}' "
                f"or '{self.canary}' (it routes to {', '.join(others)}): {fix}"
            )
        if others:
            raise SourceError(
                f"{self.resource}: {label} also routes to {', '.join(others)}; monotui steers "
                f"exactly two destinations, {self.stable} and {self.canary}: {fix}"
            )
        return found

    def _weights(self, primary: _Route) -> tuple[Weights, str]:
        section, i, route = primary
        found = self._entries(section, i, route)
        entries = route["route"]
        if len(entries) == 1:  # Istio: a lone destination takes all traffic whatever its weight
            return (Weights(100, 0) if "stable" in found else Weights(0, 100)), ""
        what = f"{self.resource}: weight"
        raw = [whole_weight(entries[found[r]], 0, what) if r in found else 0 for r in ROLES]
        if sum(raw) <= 0:
            raise SourceError(
                f"{self.resource}: {_label(section, i, route)} has no positive weight; "
                "fix it with kubectl before steering"
            )
        stable, canary = percentages(raw)
        note = "" if sum(raw) == 100 else f"raw weights {raw[0]}/{raw[1]} do not sum to 100"
        return Weights(stable, canary), note

    def _weight_ops(
        self, section: str, i: int, route: dict[str, Any], target: Weights
    ) -> list[jsonpatch.Op]:
        found = self._entries(section, i, route)
        entries = route["route"]
        ops = []
        for role in ROLES:
            want = target.stable if role == "stable" else target.canary
            if role not in found:
                if want:
                    name = self.stable if role == "stable" else self.canary
                    raise MonotuiError(
                        f"{self.resource}: {_label(section, i, route)} has no {role} destination "
                        f"({self.key} {name}); add it with weight 0, then steer again"
                    )
                continue
            entry = entries[found[role]]
            if len(entries) == 1 and want == 100 and "weight" not in entry:
                continue  # already all traffic: leave the object as it is
            if entry.get("weight") != want:
                path = jsonpatch.pointer("spec", section, i, "route", found[role], "weight")
                ops.append(jsonpatch.set_value(path, want, present="weight" in entry))
        return ops


def _routes(spec: dict[str, Any], section: str) -> list[dict[str, Any]]:
    routes = spec.get(section) or []
    return [r if isinstance(r, dict) else {} for r in routes] if isinstance(routes, list) else []


def _names(routes: list[dict[str, Any]]) -> str:
    return ", ".join(str(r.get("name") or f"#{i} (unnamed)") for i, r in enumerate(routes))


def _toml(name: Any) -> str:
    return json.dumps(str(name))  # a JSON string is a valid TOML basic string


def _label(section: str, i: int, route: dict[str, Any]) -> str:
    name = route.get("name")
    return f"{section} route '{name}'" if name else f"{section} route #{i}"


def _has_host(entry: Any) -> bool:
    dest = entry.get("destination") if isinstance(entry, dict) else None
    return isinstance(dest, dict) and bool(dest.get("host"))
