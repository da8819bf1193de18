"""Prometheus through the Kubernetes API server's service proxy, with the kubeconfig's credentials.

`/api/v1/namespaces/NS/services/NAME:PORT/proxy/` forwards a request to the Service, after the
API server has authenticated it: the client speaks to the API server (its URL, its CA, the
kubeconfig's client certificate or bearer token), so no port-forward or in-cluster DNS is needed.
A `PrometheusConnection` is everything a Prometheus HTTP client needs for that: the base URL, the
TLS context (CA and client certificate), and credential headers read fresh for each request (an
exec plugin's token expires). Needs `get` on `services/proxy` in the Service's namespace.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from monotui.config import SERVICE_REF, PrometheusConfig
from monotui.errors import ConfigError
from monotui.sources.http_client import BoundedClient
from monotui.sources.kube import KubeConnection


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """A Service and port, "istio-system/prometheus:9090"."""

    namespace: str
    name: str
    port: str

    @classmethod
    def parse(cls, text: str) -> ServiceRef:
        match = re.fullmatch(SERVICE_REF, text)
        if match is None:
            raise ConfigError(f"'{text}' is not NAMESPACE/SERVICE:PORT")
        return cls(match.group(1), match.group(3), match.group(5))

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}"

    @property
    def proxy_path(self) -> str:
        """The service proxy's path on the API server (no trailing slash)."""
        ns, name = quote(self.namespace, safe=""), quote(f"{self.name}:{self.port}", safe=":")
        return f"/api/v1/namespaces/{ns}/services/{name}/proxy"


@dataclass(frozen=True)
class PrometheusConnection:
    """How to reach one Prometheus HTTP API: what the Prometheus source must accept."""

    base_url: str
    """The API's root: requests go to base_url + "/api/v1/query" etc."""
    verify_tls: bool | ssl.SSLContext
    """True (system CAs), False, or a context with the API server's CA and client certificate."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Fixed headers (`[prometheus] headers`)."""
    credentials: Callable[[], dict[str, str]] = field(default=dict)
    """Credential headers, to be read for every request (a rotating token): Authorization."""
    via: str = ""
    """Where it goes, in words ("istio-system/prometheus:9090 through the API server's proxy")."""

    def request_headers(self) -> dict[str, str]:
        """The headers of one request: the fixed ones and fresh credentials."""
        return {**self.headers, **self.credentials()}

    def client(self, *, timeout_s: float, max_bytes: int) -> BoundedClient:
        """A bounded client to it (pass `request_headers()` per request for the credentials)."""
        return BoundedClient(
            self.base_url,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
            headers=self.headers,
            verify_tls=self.verify_tls,
            name="Prometheus",
        )

    def as_config(self, prom: PrometheusConfig) -> PrometheusConfig:
        """`prom` pointed at this connection, credentials as of now (for a source that takes a
        PrometheusConfig: a CA or client certificate of the API server cannot be carried)."""
        return prom.model_copy(
            update={"url": self.base_url, "headers": self.request_headers(), "verify_tls": True}
        )


def through_kubernetes(
    prom: PrometheusConfig, kube: KubeConnection, service: ServiceRef | None = None
) -> PrometheusConnection:
    """The connection to `service` (default `[prometheus] kubernetes_service`) through the API
    server of `kube`, with its credentials."""
    if service is None:
        if not prom.kubernetes_service:
            raise ConfigError("[prometheus] kubernetes_service is not set")
        service = ServiceRef.parse(prom.kubernetes_service)
    configuration = kube.api_client.configuration
    return PrometheusConnection(
        base_url=f"{str(configuration.host).rstrip('/')}{service.proxy_path}",
        verify_tls=tls_context(configuration),
        headers=dict(prom.headers),
        credentials=lambda: bearer(configuration),
        via=f"{service} through the Kubernetes API server's service proxy",
    )


def tls_context(configuration: object) -> bool | ssl.SSLContext:
    """The kubeconfig's TLS settings as an SSLContext: its CA (or the system's), its client
    certificate; False when it skips verification."""
    if not getattr(configuration, "verify_ssl", True):
        return False
    ca = getattr(configuration, "ssl_ca_cert", None)
    cert, key = getattr(configuration, "cert_file", None), getattr(configuration, "key_file", None)
    if not ca and not cert:
        return True
    try:
        context = ssl.create_default_context(cafile=ca or None)
        if cert:
            context.load_cert_chain(cert, key or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"kubernetes: cannot load the kubeconfig's certificates ({exc})"
        ) from None
    return context


def bearer(configuration: object) -> dict[str, str]:
    """The kubeconfig's bearer token as a header (refreshed by the client's hook), or none."""
    settings: object = getattr(configuration, "auth_settings", dict)()
    entry = settings.get("BearerToken") if isinstance(settings, dict) else None
    token = entry.get("value") if isinstance(entry, dict) else None
    return {"Authorization": str(token)} if token else {}
