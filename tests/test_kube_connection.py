"""The Kubernetes connection made like kubectl makes it: kubeconfig, context, namespace, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from monotui.config import KubernetesConfig
from monotui.errors import ConfigError, PermissionDeniedError
from monotui.sources.kube import connect
from monotui.sources.router_istio import IstioRouter
from tests.fakekube import FakeKube, KubeContext
from tests.router_helpers import rollout, virtual_service


def test_the_current_context_user_and_namespace(fake_kube: FakeKube, fake_kubeconfig: Path) -> None:
    kube = connect(KubernetesConfig(kubeconfig=fake_kubeconfig))
    assert (kube.context, kube.user, kube.namespace) == ("fake", "alice", "default")
    assert kube.server == fake_kube.url
    kube.close()


def test_kubeconfig_env_context_and_namespace_options(
    fake_kube: FakeKube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake_kube.write_kubeconfig(
        tmp_path / "kc", extra_contexts=[KubeContext("prod", user="bob", namespace="shop")]
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    kube = connect(KubernetesConfig(), context="prod")
    assert (kube.context, kube.user, kube.namespace) == ("prod", "bob", "shop")
    kube.close()
    kube = connect(KubernetesConfig(context="prod"), namespace="bookinfo")
    assert (kube.context, kube.namespace) == ("prod", "bookinfo")
    kube.close()


def test_an_unknown_context_lists_the_known_ones(fake_kubeconfig: Path) -> None:
    with pytest.raises(ConfigError, match=r"no context 'staging' \(known: fake\)"):
        connect(KubernetesConfig(kubeconfig=fake_kubeconfig), context="staging")


def test_no_kubeconfig_outside_a_pod_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="set KUBECONFIG or \\[kubernetes\\].kubeconfig"):
        connect(KubernetesConfig())


def test_refused_credentials_say_to_log_in_again(fake_kube: FakeKube, tmp_path: Path) -> None:
    fake_kube.put_object(virtual_service())
    path = fake_kube.write_kubeconfig(tmp_path / "kc", token="expired")
    fake_kube.require_token = "fresh"
    kube = connect(KubernetesConfig(kubeconfig=path))
    with pytest.raises(PermissionDeniedError, match="unauthorized: .*log in again"):
        IstioRouter(kube, rollout()).read()
    kube.close()
