"""A fake Kubernetes API server on 127.0.0.1 for tests, spoken to by the real ``kubernetes``
client and the real ``kubectl`` (:func:`~tests.fakekube.kubectl.kubectl`).

    with FakeKube() as fake:        # or the fake_kube / fake_kubeconfig / fake_api_client fixtures
        fake.put_object({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                         "metadata": {"name": "reviews", "namespace": "bookinfo"}, "spec": {}})
        api = CustomObjectsApi(new_client_from_config(str(fake.write_kubeconfig(path))))

Served (:data:`DEFAULT_APIS`; :meth:`FakeKube.serve` adds, :meth:`~FakeKube.unserve` turns a
group off, e.g. a cluster without Flagger): core v1 namespaces, services (+proxy), pods,
events, configmaps, secrets; apps/v1 deployments; coordination.k8s.io/v1 leases;
events.k8s.io/v1 events; authorization.k8s.io/v1 selfsubjectaccessreviews; Istio
virtualservices/destinationrules (v1, v1beta1, v1alpha3); Gateway API httproutes/gateways (v1,
v1beta1); Argo rollouts (+status), analysisruns, analysistemplates; Flagger canaries (+status);
OpenFeature featureflags, featureflagsources.

Faithful where a client can tell, capability by capability:
  discovery      :mod:`.discovery`: /version, /api, /apis, /apis/G[/V] (names, kinds, scopes,
                 verbs, short names, subresources), aggregated discovery for kubectl
  objects        :mod:`.verbs`, :mod:`.kinds`: CRUD with Status error bodies, one global
                 resourceVersion, 409 on a stale one (compare-and-set), generation, status
                 subresource, finalizers, JSON/merge patch (strategic = merge for built-ins),
                 dry run, per-kind defaults and validation, Time/MicroTime decoding (:mod:`.times`)
  lists          :mod:`.listing`: namespaced and cluster-wide, label/field selectors (only the
                 real field labels), resourceVersion/resourceVersionMatch, consistent
                 limit/continue pages, 410 for compacted history, 504 for a future RV
  watches        :mod:`.watch`: namespaced and cluster-wide, BOOKMARKs, sendInitialEvents,
                 410 ERROR events after :meth:`~FakeKube.compact`, :meth:`~FakeKube.drop_watches`,
                 :meth:`~FakeKube.end_watches`, :meth:`~FakeKube.send_bookmarks`
  events         :mod:`.events`: core v1 and events.k8s.io/v1 as one stored object
  leases         coordination.k8s.io/v1 with compare-and-set (no unconditional PUT)
  access         :mod:`.rbac`: :meth:`~FakeKube.deny` rules (per verb, resource[/sub],
                 namespace or cluster-wide, group, name, user), RBAC-style 403s,
                 SelfSubjectAccessReviews (``kubectl auth can-i``; kubectl posts protobuf:
                 :mod:`.protobuf`), bearer tokens and 401
  service proxy  :mod:`.proxy`: ``services/[scheme:]name[:port]/proxy/...`` to a backend URL
                 (:meth:`~FakeKube.put_service`, :meth:`~FakeKube.proxy_backend`)
  faults         :mod:`.faults`: :meth:`~FakeKube.fail_next` (500/503/429 with Retry-After,
                 dropped connections), :meth:`~FakeKube.slow_next`,
                 :meth:`~FakeKube.answer_late` (applied, answered late or never),
                 :meth:`~FakeKube.trickle_next`, all per method and path pattern (and,
                 for fail_next, per user: one process cut off while its peers get through);
                 :meth:`~FakeKube.down`/:meth:`~FakeKube.up`
  request log    :mod:`.requestlog`: :attr:`FakeKube.requests` with RBAC verbs,
                 :meth:`~FakeKube.request_counts`, :meth:`~FakeKube.count_requests`
Not modelled: schema validation and defaulting of custom resources, server-side apply,
namespace existence, admission webhooks, ownerReference garbage collection, managedFields,
Table output (kubectl falls back to NAME/AGE), protobuf answers, HTML rewriting by the proxy,
the watch cache's 3 s wait for a future resourceVersion (answered 504 at once).

Other modules: :mod:`.server` (:class:`FakeKube`), :mod:`.dispatch` (one request, in filter
order), :mod:`.apis` (served resources, URL routing), :mod:`.store` (objects and history),
:mod:`.selectors`, :mod:`.status` (Status bodies, field errors), :mod:`.kubeconfig`,
:mod:`.handler` (HTTP), :mod:`.jsonpatch` (RFC 6902/7386), :mod:`.fixtures`.
"""

from tests.fakekube.apis import DEFAULT_APIS, ApiSpec
from tests.fakekube.fixtures import fake_api_client, fake_kube, fake_kubeconfig
from tests.fakekube.kubeconfig import KubeContext
from tests.fakekube.kubectl import kubectl
from tests.fakekube.requestlog import Request
from tests.fakekube.server import FakeKube
from tests.fakekube.status import status_body

__all__ = [
    "DEFAULT_APIS",
    "ApiSpec",
    "FakeKube",
    "KubeContext",
    "Request",
    "fake_api_client",
    "fake_kube",
    "fake_kubeconfig",
    "kubectl",
    "status_body",
]
