"""The discovery fixtures: the upstream example manifests of tests/manifests/discovery, loaded
into the fake API server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.fakekube import FakeKube

MANIFESTS = Path(__file__).parent / "manifests" / "discovery"
ALL = (
    "argo-rollouts-demo",
    "bookinfo-reviews",
    "gateway-traffic-splitting",
    "flagger-podinfo",
    "openfeature-flags",
)


def documents(name: str) -> list[dict[str, Any]]:
    """The YAML documents of one manifest file."""
    text = (MANIFESTS / f"{name}.yaml").read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def seed(fake: FakeKube, *names: str) -> None:
    """Put every document of the named manifests (default: all of them) into the fake cluster."""
    for name in names or ALL:
        for doc in documents(name):
            fake.put_object(doc)
