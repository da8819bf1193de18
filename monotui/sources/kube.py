"""The Kubernetes connection, made like kubectl makes it, and API errors translated for people.

The `kubernetes` package costs ~200 ms to import: it is imported here, and this module is imported
only when a rollout uses a Kubernetes backend.

Retries: the client's urllib3 pool would silently retry a GET that timed out three times (so a 5 s
timeout took 20 s) and sleep on a 429/503 Retry-After. We retry only a refused *connection* (the
request was never sent, so it is always safe) and let every other failure surface at once: the
controller polls again anyway, and a PATCH must never be sent twice behind our back.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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
from monotui.outside_text import literal
from monotui.sources import kube_http
from monotui.sources.bounded_parse import DocumentError, parse_yaml

REQUEST_TIMEOUT_S = 5.0
KUBECONFIG_MAX_BYTES = 4 << 20
_SECTIONS = (("clusters", "cluster"), ("contexts", "context"), ("users", "user"))
JSON_PATCH = "application/json-patch+json"
_SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
SA_TOKEN_MAX_BYTES = 64 << 10


@dataclass
class KubeConnection:
    """A configured API client and who we are on it."""

    api_client: Any
    custom: Any  # kubernetes.client.CustomObjectsApi
    context: str
    user: str
    namespace: str
    timeout_s: float = REQUEST_TIMEOUT_S
    server: str = ""

    def close(self) -> None:
        """Release the connection pool."""
        self.api_client.close()


def _configuration() -> Any:
    """A client Configuration whose retries cannot multiply a timeout or repeat a write."""
    from kubernetes import client
    from urllib3.util.retry import Retry

    configuration = client.Configuration()
    configuration.retries = Retry(
        total=1,
        connect=1,
        read=0,
        status=0,
        other=0,
        redirect=0,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    return configuration


def connect(
    cfg: KubernetesConfig,
    *,
    context: str | None = None,
    namespace: str | None = None,
    timeout_s: float = REQUEST_TIMEOUT_S,
) -> KubeConnection:
    """Load the kubeconfig (file, KUBECONFIG, ~/.kube/config) or the in-cluster config.

    `context` (from `--context`) wins over `[kubernetes].context`, which wins over the kubeconfig's
    current context; `namespace` (from `--namespace`) wins over the context's namespace.
    """
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    wanted = context or cfg.context
    path = str(cfg.kubeconfig) if cfg.kubeconfig else None
    env_path = os.environ.get("KUBECONFIG")
    default = Path.home() / ".kube" / "config"
    have_file = path is not None or bool(env_path) or default.exists()
    configuration = _configuration()
    try:
        if have_file:
            files = path or env_path or str(default)
            check_kubeconfig(files)
            contexts, current = config.list_kube_config_contexts(config_file=files)
            chosen = _pick_context(contexts, current, wanted, files)
            config.load_kube_config(
                config_file=files, context=chosen["name"], client_configuration=configuration
            )
            api_client = client.ApiClient(configuration)
            kube_http.install(api_client)
            ctx = chosen.get("context", {})
            return KubeConnection(
                api_client,
                client.CustomObjectsApi(api_client),
                context=chosen["name"],
                user=str(ctx.get("user", "")),
                namespace=namespace or str(ctx.get("namespace") or "default"),
                timeout_s=timeout_s,
                server=str(configuration.host),
            )
        if wanted:
            raise ConfigError(
                f"kubernetes: no kubeconfig found (KUBECONFIG, ~/.kube/config) for context '{wanted}'"
            )
        config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        raise ConfigError(
            f"kubernetes: cannot load the configuration: {exc} "
            "(set KUBECONFIG or [kubernetes].kubeconfig, or run in a pod)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"kubernetes: cannot read the kubeconfig: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError, yaml.YAMLError) as exc:
        # The client trusts the file's shape; check_kubeconfig catches what we know of, this
        # what we do not: one line, never a traceback.
        raise ConfigError(
            f"kubernetes: the kubeconfig is not one kubectl could use ({literal(exc)}): "
            "check it with 'kubectl config view'"
        ) from None
    api_client = client.ApiClient(configuration)
    kube_http.install(api_client)
    ns_file = _SA_DIR / "namespace"
    in_ns = ns_file.read_text().strip() if ns_file.exists() else "default"
    return KubeConnection(
        api_client,
        client.CustomObjectsApi(api_client),
        "in-cluster",
        service_account(_SA_DIR / "token"),
        namespace or in_ns,
        timeout_s=timeout_s,
        server=str(configuration.host),
    )


def service_account(token_file: Path) -> str:
    """Who a pod's token says it is, `system:serviceaccount:NS:NAME` (its `sub` claim), for the
    audit log and the stored pause: "serviceaccount" when it cannot tell. Nothing is verified
    (the API server does that); the token itself is never kept or shown."""
    try:
        with open(token_file, "rb") as f:
            token = f.read(SA_TOKEN_MAX_BYTES)
        payload = token.split(b".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except (OSError, IndexError, ValueError):
        return "serviceaccount"
    subject = claims.get("sub") if isinstance(claims, dict) else None
    if isinstance(subject, str) and re.fullmatch(
        r"system:serviceaccount:[a-z0-9.-]+:[a-z0-9.-]+", subject
    ):
        return subject
    return "serviceaccount"


def check_kubeconfig(files: str) -> None:
    """Each kubeconfig file in `files` (KUBECONFIG's list) parses within limits and has the
    shape kubectl needs: lists of named clusters, contexts and users. ConfigError says where it
    is wrong; a file that does not exist is skipped, as kubectl does."""
    for name in files.split(os.pathsep):
        if not name:
            continue
        shown = literal(name, max_len=200)
        try:
            with open(name, "rb") as f:
                data = f.read(KUBECONFIG_MAX_BYTES + 1)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(f"kubeconfig {shown}: cannot read it: {exc.strerror}") from None
        try:
            doc = parse_yaml(data, max_bytes=KUBECONFIG_MAX_BYTES, what=f"kubeconfig {shown}")
        except DocumentError as exc:
            raise ConfigError(f"{exc}: fix it, or point KUBECONFIG elsewhere") from None
        _check_shape(doc.value, shown)


def _check_shape(doc: Any, shown: str) -> None:
    if doc is None:
        return  # an empty file: kubectl treats it as no configuration
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {shown} is not a mapping of clusters, contexts and users")
    for section, item in _SECTIONS:
        entries = doc.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise ConfigError(
                f"kubeconfig {shown}: '{section}' must be a list of named {section}, "
                f"not {literal(type(entries).__name__)}"
            )
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ConfigError(f"kubeconfig {shown}: {section}[{i}] needs a 'name'")
            if not isinstance(entry.get(item), dict | None):
                raise ConfigError(
                    f"kubeconfig {shown}: {section}[{i}] ({literal(entry['name'])}): "
                    f"'{item}' must be a mapping"
                )
    current = doc.get("current-context")
    if current is not None and not isinstance(current, str):
        raise ConfigError(f"kubeconfig {shown}: 'current-context' must be a name")


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


def translate(
    exc: BaseException,
    *,
    verb: str,
    what: str,
    namespace: str,
    resource: str | None = None,
    server: str = "",
) -> MonotuiError:
    """An ApiException or a connection error as the typed error a user can act on.

    `what` is how a human names the object ("virtualservice reviews"); `resource` is the RBAC
    resource ("virtualservices.networking.istio.io") named in a 403.
    """
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, MonotuiError):
        return exc
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        told = _status_message(exc.body)
        message = told or str(exc.reason or "")
        if status == 403:
            needs = f"your kube user needs '{verb}' on {resource} there" if resource else ""
            return PermissionDeniedError(
                f"forbidden: cannot {verb} {what} in namespace {namespace}: "
                f"{needs or 'ask for a Role granting it'} (see the README's RBAC section). "
                f"The API said: {message}"
            )
        if status == 401:
            return PermissionDeniedError(
                f"unauthorized: the kubeconfig's credentials were refused ({message}); "
                "log in again (e.g. refresh your token) and retry"
            )
        if status == 404:
            return NotFoundError(
                f"{what} not found in namespace {namespace}: check the name in the config and "
                f"the namespace (--namespace). The API said: {message}"
            )
        # A failed JSON patch `test` (our compare-and-set) is a bare 422; a 422 that explains
        # itself is a validation or an admission webhook refusing the change: say what it said.
        if status == 409 or (status == 422 and told in ("", _REJECTED_PATCH)):
            return ConflictError(f"{what} changed since it was read: {message}")
        if status == 422:
            return SourceError(
                f"kubernetes API refused to {verb} {what} (422): {message}; nothing was applied"
            )
        if status in (429, 500, 502, 503, 504):
            return BackendUnavailableError(
                f"kubernetes API answered {status} to {verb} {what}: {message}; "
                "it is retried at the next poll"
            )
        if status == 0:
            return BackendUnavailableError(f"kubernetes API unreachable: {exc.reason}")
        return SourceError(f"kubernetes API answered {status} to {verb} {what}: {message}")
    where = f" at {server}" if server else ""
    if _is_timeout(exc):
        return BackendUnavailableError(
            f"kubernetes API{where} did not answer in time ({verb} {what}): "
            "check the network or VPN; it is retried at the next poll"
        )
    return BackendUnavailableError(
        f"kubernetes API{where} unreachable ({verb} {what}): {_short(exc)}; "
        "check the cluster, the network/VPN and --context"
    )


def is_uncertain(exc: BaseException) -> bool:
    """Whether a write that failed this way may still have been applied (sent, no answer)."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    if isinstance(exc, MaxRetryError):
        return not isinstance(exc.reason, NewConnectionError | ConnectionRefusedError)
    if isinstance(exc, NewConnectionError | ConnectionRefusedError):
        return False
    from kubernetes.client.exceptions import ApiException

    return not isinstance(exc, ApiException | MonotuiError)


def is_unserved(exc: BaseException) -> bool:
    """A 404 for an API group/version the cluster does not serve (not a missing object)."""
    from kubernetes.client.exceptions import ApiException

    if not isinstance(exc, ApiException) or exc.status != 404:
        return False
    try:
        details = json.loads(exc.body or "{}").get("details") or {}
    except (TypeError, ValueError, AttributeError):
        return True
    return not details.get("name")


def _is_timeout(exc: BaseException) -> bool:
    from urllib3 import exceptions as u3

    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2, but it is a refusal.
    if isinstance(exc, u3.NewConnectionError):
        return False
    return isinstance(exc, u3.TimeoutError | TimeoutError)


_REJECTED_PATCH = "the server rejected our request due to an error in our request"
"""The whole message of the API server's 422 to a JSON patch whose `test` failed."""


def _status_message(body: Any) -> str:
    """The Status body's message on one line (a plain-text body, e.g. a 429's, ends in a newline)."""
    if not body:
        return ""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return " ".join(str(body)[:200].split())
    return " ".join(str(data.get("message", "")).split()) if isinstance(data, dict) else ""


def _short(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason) if reason is not None else str(exc)
    # urllib3 reprs carry object addresses ("<...HTTPConnection object at 0x7f..>: "): drop them.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    if "Failed to establish a new connection: " in text:  # "[Errno 111] Connection refused"
        text = text.split("Failed to establish a new connection: ", 1)[1]
    return text.splitlines()[0][:200] if text else type(exc).__name__
