"""OpenFeature FeatureFlag resources through the fake Kubernetes API server and the real client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui.config import KubernetesConfig
from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    PermissionDeniedError,
)
from monotui.sources.base import FlagSource
from monotui.sources.flags_featureflag import GROUP, PLURAL, VERSION, FeatureFlagFlags
from monotui.sources.kube import connect
from tests import fakekube
from tests.configs import rollout_config
from tests.fakekube import FakeKube

fake_kube = fakekube.fake_kube
fake_kubeconfig = fakekube.fake_kubeconfig

NS = "shop"


def feature_flag(default: str = "on", state: str = "ENABLED") -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "FeatureFlag",
        "metadata": {"name": "shop-flags", "namespace": NS},
        "spec": {
            "flagSpec": {
                "flags": {
                    "new-checkout": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": default,
                        "targeting": {},
                    },
                    "dark/mode": {
                        "state": state,
                        "variants": {"yes": True, "no": False},
                        "defaultVariant": "no",
                    },
                    "color": {
                        "state": "ENABLED",
                        "variants": {"red": "#f00", "blue": "#00f"},
                        "defaultVariant": "red",
                        "targeting": {"if": [{"$ref": "staff"}, "blue", None]},
                    },
                },
                "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@shop.example"]}},
            }
        },
    }


@pytest.fixture
def src(fake_kube: FakeKube, fake_kubeconfig: Path) -> Iterator[FeatureFlagFlags]:
    fake_kube.put_object(feature_flag())
    kube = connect(KubernetesConfig(kubeconfig=fake_kubeconfig))
    rollout = rollout_config(
        {"name": "shop", "namespace": NS, "flags": {"kind": "featureflag", "name": "shop-flags"}}
    )
    yield FeatureFlagFlags(kube, rollout)
    kube.api_client.close()


def stored(fake_kube: FakeKube) -> dict[str, Any]:
    return fake_kube.get_object(GROUP, VERSION, PLURAL, NS, "shop-flags")


def test_reads_the_flags_like_a_flagd_file(src: FeatureFlagFlags, fake_kube: FakeKube) -> None:
    assert isinstance(src, FlagSource)
    flagset = src.read()
    flags = {f.key: f for f in flagset.flags}
    assert flags["new-checkout"].value is True and flags["new-checkout"].toggle == "on -> off"
    assert flags["color"].targeting == "if email ends with @shop.example -> blue"
    assert flagset.version == stored(fake_kube)["metadata"]["resourceVersion"]


def test_toggle_sends_one_json_patch_pinned_by_test_ops(
    src: FeatureFlagFlags, fake_kube: FakeKube
) -> None:
    before = stored(fake_kube)
    patch = json.loads(src.toggle("new-checkout", src.read()))
    assert [op["op"] for op in patch] == ["test", "test", "test", "replace"]
    after = stored(fake_kube)
    assert after["spec"]["flagSpec"]["flags"]["new-checkout"]["defaultVariant"] == "off"
    before["spec"]["flagSpec"]["flags"]["new-checkout"]["defaultVariant"] = "off"
    assert after["spec"] == before["spec"]  # nothing else changed, $evaluators included
    assert {f.key: f for f in src.read().flags}["new-checkout"].value is False


def test_a_disabled_flag_with_a_slash_in_its_key_is_enabled(
    src: FeatureFlagFlags, fake_kube: FakeKube
) -> None:
    fake_kube.put_object(feature_flag(state="DISABLED"))
    flagset = src.read()
    assert {f.key: f for f in flagset.flags}["dark/mode"].toggle == "enable"
    src.toggle("dark/mode", flagset)
    assert stored(fake_kube)["spec"]["flagSpec"]["flags"]["dark/mode"]["state"] == "ENABLED"


def test_dry_run_sends_nothing(src: FeatureFlagFlags, fake_kube: FakeKube) -> None:
    version = fake_kube.resource_version
    patch = src.toggle("new-checkout", src.read(), dry_run=True)
    assert '"op": "replace"' in patch and '"value": "off"' in patch
    assert fake_kube.resource_version == version


def test_a_toggle_on_stale_data_is_a_conflict(src: FeatureFlagFlags, fake_kube: FakeKube) -> None:
    seen = src.read()
    fake_kube.put_object(feature_flag(default="off"))  # someone else turned it off meanwhile
    with pytest.raises(ConflictError, match="changed since it was read"):
        src.toggle("new-checkout", seen)
    assert stored(fake_kube)["spec"]["flagSpec"]["flags"]["new-checkout"]["defaultVariant"] == "off"
    # Nothing was applied; a fresh read shows the flag as the other writer left it.
    assert {f.key: f for f in src.read().flags}["new-checkout"].default_variant == "off"


def test_an_unrelated_change_does_not_block_the_toggle(
    src: FeatureFlagFlags, fake_kube: FakeKube
) -> None:
    seen = src.read()
    fake_kube.put_object(feature_flag(state="DISABLED"))  # another flag changed
    src.toggle("new-checkout", seen)
    flags = stored(fake_kube)["spec"]["flagSpec"]["flags"]
    assert flags["new-checkout"]["defaultVariant"] == "off"
    assert flags["dark/mode"]["state"] == "DISABLED"


def test_rbac_denial_names_the_verb_and_namespace(
    src: FeatureFlagFlags, fake_kube: FakeKube
) -> None:
    seen = src.read()
    fake_kube.deny(verb="patch", plural=PLURAL, namespace=NS)
    with pytest.raises(
        PermissionDeniedError, match=f"cannot patch featureflag shop-flags in namespace {NS}"
    ):
        src.toggle("new-checkout", seen)


def test_an_unreachable_api_is_backend_unavailable(
    src: FeatureFlagFlags, fake_kube: FakeKube
) -> None:
    fake_kube.stop()  # the API server goes away (state kept)
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        src.read()
    fake_kube.start()
    assert src.read().flags  # and comes back
