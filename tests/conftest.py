"""Shared fixtures. Integration fixtures live in their own modules and are re-exported here."""

from __future__ import annotations

from tests.fakekube import fake_api_client, fake_kube, fake_kubeconfig  # noqa: F401
from tests.prometheus_server import prometheus  # noqa: F401  (a real Prometheus)
