"""Feature flags from an OpenFeature operator `FeatureFlag` (core.openfeature.dev/v1beta1).

`spec.flagSpec` is a flagd flag definition, so flags read exactly like a flagd file. A toggle is one
JSON patch whose `test` ops pin what the user saw (the flag's state, its defaultVariant and the value
of the variant we switch to): if anyone changed those since, the API server answers 422 and nothing
is applied. Changes to other flags in the same resource do not block the toggle.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from monotui.config import RolloutConfig
from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    SourceError,
    UncertainWriteError,
    UnsafeEditError,
)
from monotui.kinds import FlagsSettings
from monotui.model import Flag
from monotui.sources import flagd_doc, kube_http
from monotui.sources.base import FlagSet
from monotui.sources.kube import JSON_PATCH, KubeConnection, is_uncertain, translate

GROUP = "core.openfeature.dev"
VERSION = "v1beta1"
PLURAL = "featureflags"


class FeatureFlagSettings(FlagsSettings):
    """`[rollouts.flags] kind = "featureflag"`: an OpenFeature operator FeatureFlag resource."""

    kind: Literal["featureflag"] = "featureflag"
    name: str = Field(min_length=1)
    """The FeatureFlag resource's name."""
    namespace: str | None = Field(default=None, min_length=1)
    """Its namespace, when not the rollout's (a FeatureFlagSource may name a FeatureFlag of
    another namespace, as `namespace/name`)."""


class FeatureFlagFlags:
    """One FeatureFlag resource (in the rollout's namespace unless told), read and toggled
    through the API."""

    kind = "featureflag"
    can_write = True

    def close(self) -> None:
        """Nothing of its own to release (the connection is shared)."""

    def __init__(self, kube: KubeConnection, rollout: RolloutConfig) -> None:
        settings = FeatureFlagSettings.of(rollout.flags, f"rollout {rollout.name} flags")
        self.kube = kube
        self.name = settings.name
        self.namespace = settings.namespace or rollout.namespace
        self.what = f"featureflag {self.name}"

    def read(self) -> FlagSet:
        """The flags of the resource now; version is its resourceVersion."""
        obj = self._call(
            "get",
            self.kube.custom.get_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            self.name,
        )
        return self._flagset(obj)

    def toggle(self, key: str, expected: FlagSet, *, dry_run: bool = False) -> str:
        """Toggle `key` as it was in `expected`; returns the JSON patch (sent unless dry-run)."""
        flag = next((f for f in expected.flags if f.key == key), None)
        if flag is None:
            raise NotFoundError(f"no flag '{key}' in {self.what} (namespace {self.namespace})")
        change = _change_of(flag)
        refused = next((e for e in expected.errors if e.startswith(flagd_doc.REFUSED)), None)
        if change is None and refused:
            raise UnsafeEditError(f"{self.what}: {refused}; nothing was applied")
        if change is None:
            why = f"is invalid ({flag.error})" if flag.error else "has no on/off toggle"
            raise MonotuiError(f"flag '{key}' in {self.what} {why}: edit the resource instead")
        patch = _patch(flag, change)
        text = json.dumps(patch)
        if dry_run:
            return text
        try:
            obj = self._call(
                "patch",
                self.kube.custom.patch_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.name,
                patch,
                _content_type=JSON_PATCH,
            )
        except ConflictError as exc:
            raise ConflictError(
                f"{self.what} changed since it was read (flag '{key}' is no longer "
                f"{flag.state.lower()}, default {flag.default_variant}); nothing was applied: "
                "look at the flags again and toggle again if still wanted"
            ) from exc
        self._flagset(obj)  # the answer must still be a readable flag set
        return text

    def _flagset(self, obj: Any) -> FlagSet:
        spec = obj.get("spec") if isinstance(obj, dict) else None
        flag_spec = spec.get("flagSpec") if isinstance(spec, dict) else None
        if not isinstance(flag_spec, dict) and isinstance(spec, dict) and "featureFlagSpec" in spec:
            # v1alpha1..v1alpha3 FeatureFlagConfiguration (and docs that still show it) keep the
            # flags in spec.featureFlagSpec, in v1alpha1 even as a JSON string.
            api = obj.get("apiVersion") or "an older apiVersion"
            raise SourceError(
                f"{self.what} in namespace {self.namespace} has spec.featureFlagSpec, the shape of "
                f"the old FeatureFlagConfiguration ({api}); monotui reads {GROUP}/{VERSION} "
                "FeatureFlag with spec.flagSpec: move the flags there (same content)"
            )
        if not isinstance(flag_spec, dict):
            raise SourceError(
                f"{self.what} in namespace {self.namespace} has no spec.flagSpec: "
                "is it a core.openfeature.dev/v1beta1 FeatureFlag?"
            )
        try:
            parsed = flagd_doc.parse(flag_spec)
        except ValueError as exc:
            raise SourceError(
                f"{self.what}: spec.flagSpec is not a flag definition: {exc}"
            ) from None
        version = str(obj.get("metadata", {}).get("resourceVersion", ""))
        return FlagSet(parsed.flags, version, parsed.errors)

    def _call(self, verb: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        """One bounded API call (a whole-request deadline, a size cap); a PATCH whose answer was
        lost MAY have been applied: UncertainWriteError with the patch."""
        try:
            return kube_http.call(
                method,
                *args,
                timeout_s=self.kube.timeout_s,
                what=f"the API server's answer for {self.what}",
                **kwargs,
            )
        except Exception as exc:  # the client raises ApiException, urllib3 and socket errors
            error = translate(
                exc,
                verb=verb,
                what=self.what,
                namespace=self.namespace,
                resource=f"{PLURAL}.{GROUP}",
                server=self.kube.server,
            )
            sent = isinstance(error, BackendUnavailableError) and is_uncertain(exc)
            if verb == "patch" and (sent or isinstance(exc, kube_http.ResponseTooLarge)):
                raise UncertainWriteError(
                    f"the patch of {self.what} in namespace {self.namespace} got no answer, so it "
                    f"MAY have been applied ({error}): look at the flags before toggling again",
                    json.dumps(args[-1]),
                ) from None
            raise error from None


def _change_of(flag: Flag) -> flagd_doc.Change | None:
    if flag.toggle is None:
        return None
    return flagd_doc.toggle_change(
        flag.key,
        ("flags", flag.key),
        flag.state,
        flag.default_variant,
        dict(flag.variants),
        flag.targeting,
    )


def _patch(flag: Flag, change: flagd_doc.Change) -> list[dict[str, Any]]:
    base = f"/spec/flagSpec/flags/{_escape(flag.key)}"
    ops: list[dict[str, Any]] = [{"op": "test", "path": f"{base}/state", "value": flag.state}]
    if flag.default_variant is not None:
        ops.append({"op": "test", "path": f"{base}/defaultVariant", "value": flag.default_variant})
    if change.field == "defaultVariant":
        # The variant we switch to must still mean what the user saw (e.g. off = false).
        value = dict(flag.variants)[change.new]
        ops.append({"op": "test", "path": f"{base}/variants/{_escape(change.new)}", "value": value})
    ops.append({"op": "replace", "path": f"{base}/{change.field}", "value": change.new})
    return ops


def _escape(token: str) -> str:
    """A JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")
