"""The Kubernetes connection, made like kubectl makes it, and API errors translated for people.

The `kubernetes` package costs ~200 ms to import: it is imported here, and this module is imported
only when a rollout uses a Kubernetes backend.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monotui.config import KubernetesConfig
from monotui.errors import (
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    PermissionDeniedError,
    SourceError,
)

REQUEST_TIMEOUT_S = 5.0
JSON_PATCH = "application/json-patch+json"


@dataclass
class KubeConnection:
    """A configured API client and who we are on it."""

    api_client: Any
    custom: Any  # kubernetes.client.CustomObjectsApi
    context: str
    user: str
    namespace: str
    timeout_s: float = REQUEST_TIMEOUT_S

    def core(self) -> Any:
        """A CoreV1Api on the same connection (for Events)."""
        from kubernetes import client

        return client.CoreV1Api(self.api_client)


def connect(cfg: KubernetesConfig, *, context: str | None = None) -> KubeConnection:
    """Load the kubeconfig (file, KUBECONFIG, ~/.kube/config) or the in-cluster config."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    wanted = context or cfg.context
    path = str(cfg.kubeconfig) if cfg.kubeconfig else None
    env_path = os.environ.get("KUBECONFIG")
    default = Path.home() / ".kube" / "config"
    have_file = path is not None or bool(env_path) or default.exists()
    try:
        if have_file:
            files = path or env_path or str(default)
            contexts, current = config.list_kube_config_contexts(config_file=files)
            chosen = _pick_context(contexts, current, wanted, files)
            api_client = config.new_client_from_config(config_file=files, context=chosen["name"])
            ctx = chosen.get("context", {})
            return KubeConnection(
                api_client,
                client.CustomObjectsApi(api_client),
                context=chosen["name"],
                user=str(ctx.get("user", "")),
                namespace=str(ctx.get("namespace", "default")),
            )
        config.load_incluster_config()
    except ConfigException as exc:
        raise ConfigError(f"kubernetes: cannot load the configuration: {exc}") from None
    api_client = client.ApiClient()
    ns_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    namespace = ns_file.read_text().strip() if ns_file.exists() else "default"
    return KubeConnection(
        api_client, client.CustomObjectsApi(api_client), "in-cluster", "serviceaccount", namespace
    )


def _pick_context(
    contexts: list[dict[str, Any]], current: dict[str, Any] | None, wanted: str | None, files: str
) -> dict[str, Any]:
    if wanted is None:
        if current is None:
            raise ConfigError(f"kubeconfig {files} has no current context: pass --context")
        return current
    for ctx in contexts:
        if ctx["name"] == wanted:
            return ctx
    names = ", ".join(c["name"] for c in contexts) or "none"
    raise ConfigError(f"kubeconfig {files} has no context '{wanted}' (known: {names})")


def translate(exc: BaseException, *, verb: str, what: str, namespace: str) -> MonotuiError:
    """An ApiException or a connection error as the typed error a user can act on."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        message = _status_message(exc.body) or str(exc.reason or "")
        if status == 403:
            return PermissionDeniedError(
                f"forbidden: cannot {verb} {what} in namespace {namespace}: {message} "
                "(see the README's RBAC Role)"
            )
        if status == 401:
            return PermissionDeniedError(
                f"unauthorized: the kubeconfig's credentials were refused: {message}"
            )
        if status == 404:
            return NotFoundError(f"{what} not found in namespace {namespace}: {message}")
        if status in (409, 422):
            return ConflictError(f"{what} changed since it was read: {message}")
        if status == 0:
            return BackendUnavailableError(f"kubernetes API unreachable: {exc.reason}")
        return SourceError(f"kubernetes API answered {status} to {verb} {what}: {message}")
    if isinstance(exc, MonotuiError):
        return exc
    return BackendUnavailableError(f"kubernetes API unreachable ({verb} {what}): {_short(exc)}")


def _status_message(body: Any) -> str:
    if not body:
        return ""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return str(body)[:200]
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def _short(exc: BaseException) -> str:
    text = str(exc)
    reason = getattr(exc, "reason", None)
    if reason is not None:
        text = str(reason)
    return text.splitlines()[0][:200] if text else type(exc).__name__
