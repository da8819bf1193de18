"""A fake Kubernetes API server on 127.0.0.1 for tests, spoken to by the real ``kubernetes`` client.

    with FakeKube() as fake:                      # or the ``fake_kube`` pytest fixture
        fake.put_object({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                         "metadata": {"name": "reviews", "namespace": "bookinfo"}, "spec": {}})
        api = CustomObjectsApi(new_client_from_config(str(fake.write_kubeconfig(path))))

Faithful to a real apiserver serving CRDs where a client can tell: paths, discovery (``/api``, ``/apis``, ``/apis/{group}[/{version}]``), Status error bodies,
resourceVersion (one global counter; a write that changes nothing is a no-op and does not bump it),
generation, 409 on a stale resourceVersion (PUT, or a PATCH carrying one), PUT needing a
resourceVersion, JSON patch (a failed op is a bare 422 "the server rejected our request due to an
error in our request" with ``details: {}``, exactly as the real server answers), merge patch,
415 for strategic merge patch on custom resources, the status subresource (the main resource
ignores ``.status`` changes; ``/status`` changes nothing but ``.status``), finalizers,
label/field selectors, watches (chunked, ADDED/MODIFIED/DELETED, resourceVersion, timeoutSeconds,
410 Expired after :meth:`FakeKube.compact`), RBAC-style 403 messages, bearer tokens, 401.
Not modelled: schema validation/defaulting, server-side apply, limit/continue paging, namespace
existence, admission, ownerReference garbage collection, managedFields, protobuf.

Modules: :mod:`.server` (:class:`FakeKube`, request dispatch), :mod:`.apis` (served groups,
discovery, URL routing), :mod:`.store` (objects, resourceVersion, history), :mod:`.verbs`
(create/update/patch/delete), :mod:`.watch`, :mod:`.selectors`, :mod:`.faults` (deny rules,
injected failures), :mod:`.status` (Status bodies), :mod:`.kubeconfig`, :mod:`.handler` (HTTP),
:mod:`.jsonpatch` (RFC 6902/7386), :mod:`.fixtures` (pytest fixtures).
"""

from tests.fakekube.apis import DEFAULT_APIS, ApiSpec
from tests.fakekube.fixtures import fake_kube, fake_kubeconfig
from tests.fakekube.handler import Request
from tests.fakekube.kubeconfig import KubeContext
from tests.fakekube.server import FakeKube
from tests.fakekube.status import status_body

__all__ = [
    "DEFAULT_APIS",
    "ApiSpec",
    "FakeKube",
    "KubeContext",
    "Request",
    "fake_kube",
    "fake_kubeconfig",
    "status_body",
]
