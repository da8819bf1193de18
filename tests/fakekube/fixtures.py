"""pytest fixtures: a started fake, and a kubeconfig for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakekube.server import FakeKube

__all__ = ["fake_kube", "fake_kubeconfig"]


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    """A started :class:`FakeKube` with :data:`DEFAULT_APIS` served; stopped afterwards."""
    with FakeKube() as fake:
        yield fake


@pytest.fixture
def fake_kubeconfig(fake_kube: FakeKube, tmp_path: Path) -> Path:
    """A kubeconfig (context ``fake``, user ``alice``, namespace ``default``) for ``fake_kube``."""
    return fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
