"""The service proxy: ``/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH``.

As the apiserver resolves it (``ResourceLocation``): a port *number* must be one of the
Service's ports (else 503 "no service port N found for service ..."); the port (by the name that
number maps to, or the name given, or the unnamed port when none is given) must have an
endpoint, which here is a backend URL the test registered (:meth:`FakeKube.proxy_backend`);
without one it is 503 "no endpoints available for service ...". A missing Service is a 404
(``services`` when a port number was given, ``endpoints`` otherwise, as the real lookups go).
The request is forwarded with its method, path (cleaned, trailing slash kept), query, body and
headers (not ``Authorization``: the apiserver drops it once it has authenticated; hop-by-hop
headers neither; ``X-Forwarded-*`` added); the answer streams back as the backend sends it.
An empty path redirects to ``.../proxy/`` (301) as the real one does; a backend that cannot be
reached is 503 "error trying to reach service: dial tcp ...". HTML is not rewritten.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from tests.fakekube.apis import Target
from tests.fakekube.handler import Incoming, RawResponse
from tests.fakekube.status import ApiError, JsonObj

__all__ = ["ProxyBackends", "forward", "resolve", "service_manifest"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
_NOT_FORWARDED = _HOP_BY_HOP | {"authorization", "host"}
PortKey = int | str | None


class ProxyBackends:
    """Backend URLs per Service (and port), guarded by the fake's one lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._backends: dict[tuple[str, str], dict[PortKey, str]] = {}

    def register(self, namespace: str, service: str, url: str, port: PortKey) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"fakekube: a proxy backend is an http(s) URL, not {url!r}")
        with self._lock:
            self._backends.setdefault((namespace, service), {})[port] = url.rstrip("/")

    def remove(self, namespace: str, service: str, port: PortKey) -> None:
        """Forget the backend of one port (or, with None, of the whole Service)."""
        with self._lock:
            ports = self._backends.get((namespace, service), {})
            if port is None:
                ports.clear()
            else:
                ports.pop(port, None)

    def of(self, namespace: str, service: str) -> dict[PortKey, str]:
        with self._lock:
            return dict(self._backends.get((namespace, service), {}))


def service_manifest(
    namespace: str,
    name: str,
    ports: Sequence[int | JsonObj],
    labels: Mapping[str, str] | None,
) -> JsonObj:
    """A ClusterIP Service selecting ``app: name`` with these ports (numbers or ServicePorts)."""
    specs = [
        dict(p) if isinstance(p, Mapping) else {"port": p, "targetPort": p, "protocol": "TCP"}
        for p in ports
    ]
    meta: JsonObj = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict(labels)
    spec = {"type": "ClusterIP", "ports": specs, "selector": {"app": name}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _unavailable(message: str) -> ApiError:
    return ApiError(503, message)


def resolve(service: JsonObj | None, backends: dict[PortKey, str], t: Target) -> str:
    """The backend base URL for the proxy target, or the ApiError the apiserver answers."""
    ident = t.name or ""
    parts = ident.split(":")
    scheme, name, port = {1: ("", ident, ""), 2: ("", *parts), 3: tuple(parts)}.get(
        len(parts), ("?", "", "")
    )
    if not name or scheme not in ("", "http", "https"):
        raise ApiError(400, f'invalid service request "{ident}"')
    if service is None:
        kind = "services" if port.isdigit() else "endpoints"
        raise ApiError(404, f'{kind} "{name}" not found', details={"name": name, "kind": kind})
    ports = [p for p in (service.get("spec") or {}).get("ports") or [] if isinstance(p, dict)]
    if port.isdigit():
        numbered = next((p for p in ports if p.get("port") == int(port)), None)
        if numbered is None:
            raise _unavailable(f'no service port {port} found for service "{name}"')
        port = numbered.get("name") or ""
    if not backends:
        raise _unavailable(f'no endpoints available for service "{name}"')
    chosen = next((p for p in ports if (p.get("name") or "") == port), None)
    url = None
    if chosen is not None:
        for key in (chosen.get("port"), chosen.get("name"), None):
            if key in backends:
                url = backends[key]
                break
    if url is None:
        raise _unavailable(f'no endpoints available for service "{ident}"')
    return url


def forward(url: str, t: Target, inc: Incoming, api_host: str) -> RawResponse:
    """Send the request on to ``url`` + the proxied path and stream the backend's answer back."""
    request_path = inc.target.split("?", 1)[0]
    query = inc.target.split("?", 1)[1] if "?" in inc.target else ""
    if not t.proxy_path and inc.method in ("GET", "HEAD"):
        location = request_path + "/" + (f"?{query}" if query else "")
        return RawResponse(301, [("Location", location)], [], 0)
    base = urlsplit(url)
    path = (base.path.rstrip("/") + t.proxy_path) or "/"
    headers = {k: v for k, v in inc.headers.items() if k.lower() not in _NOT_FORWARDED}
    headers.update(
        {
            "X-Forwarded-For": "127.0.0.1",
            "X-Forwarded-Uri": request_path,
            "X-Forwarded-Host": api_host,
            "X-Forwarded-Proto": "http",
        }
    )
    conn: http.client.HTTPConnection
    if base.scheme == "https":  # the apiserver does not verify a service's certificate
        conn = http.client.HTTPSConnection(
            base.netloc, timeout=300, context=ssl._create_unverified_context()
        )
    else:
        conn = http.client.HTTPConnection(base.netloc, timeout=300)
    try:
        conn.request(inc.method, path + (f"?{query}" if query else ""), inc.body or None, headers)
        answer = conn.getresponse()
    except ConnectionRefusedError:
        conn.close()
        raise _unavailable(
            f"error trying to reach service: dial tcp {base.netloc}: connect: connection refused"
        ) from None
    except OSError as e:
        conn.close()
        raise _unavailable(f"error trying to reach service: {e}") from None
    kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
    length = answer.getheader("Content-Length")
    return RawResponse(
        answer.status,
        kept,
        _body(conn, answer),
        int(length) if length and length.isdigit() else None,
    )


def _body(conn: http.client.HTTPConnection, answer: http.client.HTTPResponse) -> Iterator[bytes]:
    try:
        while data := answer.read1(65536):
            yield data
    finally:
        conn.close()
