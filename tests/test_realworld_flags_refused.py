"""A flag set flagd will not load at all: one flag whose defaultVariant names none of its variants
(or a field of the wrong type) makes flagd's SetState refuse the whole document and keep serving
the last one it accepted (core/pkg/evaluator/json.go, validateDefaultVariants). A toggle of any
other flag would be written and never served, so none is offered, and the refusal says why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monotui.errors import UnsafeEditError
from monotui.sources.flags_featureflag import FeatureFlagFlags
from tests import fakekube
from tests import test_realworld_flags_remote as remote
from tests.fakekube import FakeKube
from tests.test_realworld_flags import source, write
from tests.test_realworld_flags_remote import NS, resource

fake_kube = fakekube.fake_kube
fake_kubeconfig = fakekube.fake_kubeconfig
kube_source = remote.kube_source  # the operator's FeatureFlag on the fake API server

KILL = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"}


def flag_set(typo: dict[str, Any]) -> dict[str, Any]:
    return {"flags": {"kill-switch": KILL, "banner": typo}}


@pytest.mark.parametrize(
    ("typo", "why"),
    [
        ({"state": "ENABLED", "variants": {"a": "x", "b": "y"}, "defaultVariant": "c"},
         "flag banner: defaultVariant 'c' names no variant"),
        ({"state": "ENABLED", "variants": {"a": "x"}, "defaultVariant": 1},
         "flag banner: defaultVariant is a number"),
        ({"state": "ENABLED", "variants": ["a", "b"]}, "flag banner: variants is a list"),
        ({"state": "ENABLED", "defaultVariant": "true"},  # no variants: flagd's map is empty
         "flag banner: defaultVariant 'true' names no variant (the flag has no variants)"),
    ],
)  # fmt: skip
def test_a_flag_that_flagd_refuses_blocks_every_toggle_of_the_file(
    tmp_path: Path, typo: dict[str, Any], why: str
) -> None:
    path = write(tmp_path, json.dumps(flag_set(typo), indent=2))
    before = path.read_bytes()
    src = source(path)
    flagset = src.read()
    assert flagset.errors[0].startswith(f"flagd refuses this whole flag set ({why}")
    kill = next(f for f in flagset.flags if f.key == "kill-switch")
    assert (kill.error, kill.value, kill.toggle) == (None, True, None)
    with pytest.raises(UnsafeEditError, match="no toggle here would take effect.*nothing was"):
        src.toggle("kill-switch", flagset)
    assert path.read_bytes() == before


def test_a_featureflag_that_flagd_refuses_is_not_patched(
    fake_kube: FakeKube, kube_source: FeatureFlagFlags
) -> None:
    typo = {"state": "ENABLED", "variants": {"a": "x"}, "defaultVariant": "b"}
    fake_kube.put_object(resource({"flagSpec": flag_set(typo)}))
    flagset = kube_source.read()
    with pytest.raises(UnsafeEditError, match="flagd refuses this whole flag set .*nothing was"):
        kube_source.toggle("kill-switch", flagset)
    stored = fake_kube.get_object(
        "core.openfeature.dev", "v1beta1", "featureflags", NS, "shop-flags"
    )
    assert stored["spec"]["flagSpec"]["flags"]["kill-switch"]["defaultVariant"] == "on"
