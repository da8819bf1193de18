"""pytest fixtures: a started fake, a kubeconfig for it, and a real client on that kubeconfig."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakekube.server import FakeKube

__all__ = ["fake_api_client", "fake_kube", "fake_kubeconfig"]


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    """A started :class:`FakeKube` with :data:`DEFAULT_APIS` served; stopped afterwards."""
    with FakeKube() as fake:
        yield fake


@pytest.fixture
def fake_kubeconfig(fake_kube: FakeKube, tmp_path: Path) -> Path:
    """A kubeconfig (context ``fake``, user ``alice``, namespace ``default``) for ``fake_kube``."""
    return fake_kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def fake_api_client(fake_kubeconfig: Path) -> Iterator[Any]:
    """A ``kubernetes.client.ApiClient`` on ``fake_kubeconfig`` (user ``alice``); closed after."""
    from kubernetes import config  # the client is heavy: only where it is used

    api_client = config.new_client_from_config(config_file=str(fake_kubeconfig))  # type: ignore[no-untyped-call]
    yield api_client
    api_client.close()
