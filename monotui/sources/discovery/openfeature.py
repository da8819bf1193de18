"""The FeatureFlag a discovered rollout's pods are bound to by the OpenFeature operator.

The operator (open-feature/open-feature-operator, internal/webhook/pod_webhook.go) injects flagd
into a pod whose annotations say `openfeature.dev/enabled: "true"` (exactly) and
`openfeature.dev/featureflagsource: "a, other-ns/b"`: FeatureFlagSources by `name` (in the pod's
namespace) or `namespace/name`, merged in order. Their `spec.sources` are appended; a source
without `provider` takes the last `defaultSyncProvider` set among them, else the operator's own
default, `kubernetes`. A `kubernetes` or `flagd-proxy` source names a FeatureFlag (`name` or
`namespace/name`) that flagd follows: that FeatureFlag is the rollout's flag source, whatever
its name. The others are not one monotui can follow: `file` is a ConfigMap the operator copies
from the FeatureFlag once, when it first admits a pod, and never updates (a toggle of the
FeatureFlag would not reach that flagd); `http`, `grpc`, `gcs`, `azblob`, `s3` are outside the
cluster's FeatureFlags. Each is said in the rollout's provenance.

The pods are the rollout's pod template (`workloads`): an Argo Rollout's own, the Deployment its
`workloadRef` or a Flagger Canary's `targetRef` names, or the Deployment behind a bare route's
canary Service. A rollout whose workload is unknown gets no binding from here. This binding wins
over the name/label guess of `flags`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monotui.outside_text import redact_url
from monotui.sources.discovery.found import Found
from monotui.sources.discovery.lister import Named

PREFIX = "openfeature.dev"
ENABLED = f"{PREFIX}/enabled"
SOURCES = f"{PREFIX}/featureflagsource"
IN_PROCESS = f"{PREFIX}/inprocessconfiguration"
OLD_ANNOTATIONS = (f"{PREFIX}/featureflagconfiguration", f"{PREFIX}/flagsourceconfiguration")
"""The annotations of operators before v0.5.0 (v1alpha FeatureFlagConfiguration and
FlagSourceConfiguration), which v0.5.0 dropped (docs/v1beta_migration.md)."""
DEFAULT_PROVIDER = "kubernetes"
"""The operator's SIDECAR_SYNC_PROVIDER default (internal/common/types/envconfig.go)."""
FOLLOWED = ("kubernetes", "flagd-proxy")
OUTSIDE = ("http", "grpc", "gcs", "azblob", "s3")

Lookup = Callable[[str, str], Named]
"""(namespace, name) -> the object, or why it is not there ("not found", "forbidden: ...")."""


@dataclass
class Binding:
    """What a pod template's annotations bind the rollout to."""

    flags: list[tuple[str, str, str]] = field(default_factory=list)
    """(namespace, name, how) of each FeatureFlag flagd follows, in source order; `how` names
    its source ("the kubernetes source of FeatureFlagSource shop/a")."""
    how: str = ""
    """Where they came from, in words."""
    notes: list[str] = field(default_factory=list)
    """Sources monotui cannot follow, FeatureFlagSources that are missing, ..."""
    decided: bool = True
    """False: the annotations could not be read through (a FeatureFlagSource unreadable), so
    the name/label guess may still apply."""


def parse_list(value: str) -> list[str]:
    """The annotation's comma-separated entries, trimmed, empty ones dropped (the webhook's
    parseList)."""
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_ref(ref: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) of `name` or `namespace/name` (utils.ParseAnnotation: exactly one
    slash splits, anything else is a name in `namespace`)."""
    parts = ref.split("/")
    return (parts[0], parts[1]) if len(parts) == 2 else (namespace, ref)


def wants_sources(annotations: Mapping[str, str]) -> bool:
    """Whether the operator would read FeatureFlagSources for a pod with these annotations."""
    return annotations.get(ENABLED) == "true" and SOURCES in annotations


def bind(
    annotations: Mapping[str, str], namespace: str, what: str, source_of: Lookup
) -> Binding | None:
    """The binding of a pod template in `namespace` (None: the operator does not touch its
    pods, or no annotation of it is set). `source_of` finds a FeatureFlagSource."""
    old = [key for key in OLD_ANNOTATIONS if key in annotations]
    enabled = annotations.get(ENABLED)
    if SOURCES not in annotations:
        if old:
            return Binding(
                notes=[
                    f"{what} has {old[0]}, an annotation of OpenFeature operators before v0.5 "
                    "(v1alpha FeatureFlagConfiguration): v0.5 and later ignore it and monotui "
                    "reads v1beta1 FeatureFlags; move to openfeature.dev/featureflagsource "
                    "(the operator's docs/v1beta_migration.md)"
                ],
                decided=False,
            )
        if enabled == "true" and IN_PROCESS in annotations:
            return Binding(
                notes=[
                    f"{what} uses {IN_PROCESS}: the application evaluates flags in process "
                    "from a flagd sync source, not from a FeatureFlag monotui can read"
                ]
            )
        if enabled == "true":
            return Binding(
                notes=[
                    f"{what} has {ENABLED} but names no FeatureFlagSource ({SOURCES}): the "
                    "operator refuses to admit its pods"
                ]
            )
        return None
    if enabled != "true":
        said = "not set" if enabled is None else f'{enabled!r}, not "true"'
        if annotations.get(PREFIX) == "enabled":
            said += f' ("{PREFIX}: enabled" is the spelling before v0.5, which v0.5 ignores)'
        return Binding(
            notes=[
                f"{what} names FeatureFlagSource(s) in {SOURCES}, but {ENABLED} is {said}: "
                "the operator injects no flagd into its pods"
            ],
            decided=False,
        )
    binding = Binding(how=f"the {SOURCES} annotation of {what}")
    sources: list[tuple[str, dict[str, Any]]] = []
    default = (DEFAULT_PROVIDER, "the operator's default provider")
    for ref in parse_list(annotations[SOURCES]):
        ns, name = parse_ref(ref, namespace)
        obj = source_of(ns, name)
        if isinstance(obj, str):
            missing = obj.startswith("not found")
            tail = " (the operator refuses to admit the pods)" if missing else ""
            binding.notes.append(f"FeatureFlagSource {ns}/{name}: {obj}{tail}")
            binding.decided = binding.decided and missing
            continue
        spec = obj.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        for source in spec.get("sources") or []:
            if isinstance(source, dict):
                sources.append((f"{ns}/{name}", source))
        if isinstance(spec.get("defaultSyncProvider"), str) and spec["defaultSyncProvider"]:
            default = (
                spec["defaultSyncProvider"],
                f"the defaultSyncProvider of FeatureFlagSource {ns}/{name}, the last one set",
            )
    for owner, source in sources:
        _follow(binding, owner, source, default, namespace)
    return binding


def _follow(
    binding: Binding,
    owner: str,
    source: dict[str, Any],
    default: tuple[str, str],
    namespace: str,
) -> None:
    """One merged source: a FeatureFlag to follow, or a note why not. A source without a
    provider takes the merged spec's defaultSyncProvider (flagdinjector.go buildSources)."""
    uri = str(source.get("source") or "")
    named = str(source.get("provider") or "")
    provider = named or default[0]
    where = f"FeatureFlagSource {owner}'s {provider} source"
    if provider in FOLLOWED:
        why = "" if named else f" (no provider: {default[1]})"
        binding.flags.append((*parse_ref(uri, namespace), f"{where}{why}"))
    elif provider == "file":
        ns, name = parse_ref(uri, namespace)
        binding.notes.append(
            f"{where} serves FeatureFlag {ns}/{name} from a ConfigMap the operator copied once, "
            "when it first admitted a pod, and never updates: a toggle of the FeatureFlag would "
            "not reach that flagd, so monotui does not attach it (use provider kubernetes)"
        )
    elif provider in OUTSIDE:
        binding.notes.append(
            f"{where} ({redact_url(uri)}) is not a FeatureFlag: monotui cannot follow it"
        )
    else:
        binding.notes.append(
            f"FeatureFlagSource {owner} has a source of provider {provider!r}, which the "
            "operator does not know (it refuses to admit the pods)"
        )


def attach_bound(found: list[Found], bindings: Mapping[int, Binding], exists: Lookup) -> set[int]:
    """Give each rollout of `bindings` (by index in `found`) its bound FeatureFlag; the indexes
    whose flags are decided (the name/label guess must not override them)."""
    decided: set[int] = set()
    for i, binding in bindings.items():
        rollout = found[i]
        if binding.decided:
            decided.add(i)
        notes = list(binding.notes)
        if not binding.flags and not notes:
            notes.append(f"{binding.how} names no source flagd follows")
        if binding.flags:
            (ns, name, source), others = binding.flags[0], binding.flags[1:]
            there = exists(ns, name)
            if isinstance(there, str) and there.startswith("not found"):
                notes.insert(
                    0,
                    f"FeatureFlag {ns}/{name}, named by {binding.how}, does not exist (the "
                    "operator refuses to admit the pods)",
                )
            else:
                table: dict[str, Any] = {"kind": "featureflag", "name": name}
                if ns != rollout.namespace:
                    table["namespace"] = ns
                rollout.flags = table
                also = ", ".join(f"{o[0]}/{o[1]}" for o in others)
                tail = f"; flagd merges it with {also} (attach one in the config to choose)"
                unread = f" (not read: {there})" if isinstance(there, str) else ""
                rollout.note(
                    "flags.name",
                    f"featureflag {ns}/{name}{unread}, which flagd follows: {source}, named by "
                    f"{binding.how}{tail if others else ''}",
                )
                decided.add(i)
        if notes:
            rollout.note("flags", "; ".join(notes))
    return decided
