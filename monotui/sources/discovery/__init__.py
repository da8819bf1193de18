"""Zero-configuration discovery: the rollouts a cluster already describes, as `[[rollouts]]`
tables of the config schema, with how each value was inferred.

    lister = Lister(kube, namespace)            # None: all namespaces
    found = discover(kube, namespace)           # Discovery: found, skipped, absent, passed
    finding = find_prometheus(lister)           # the Service that answered, or what was tried
    tables, sources = merge(found.found, file_entries, file="monotui.toml")
    text = to_toml(tables, sources, discovery=found, ...)

Modules: `lister` (listing kinds, forbidden/absent ones noted), `argo`, `flagger`, `meshes`
(what each kind of resource becomes), `splits` and `rules` (VirtualService/HTTPRoute splits,
DestinationRule subsets), `infer` (the inference rules), `workloads` (the pod template each
rollout runs), `openfeature` (the FeatureFlag the OpenFeature operator binds those pods to),
`flags` (else a FeatureFlag by name or label),
`prometheus` (finding one), `merge` (a config file over what was found), `render` (TOML, JSON),
`found` (the result types), `run` (one run).
"""

from monotui.sources.discovery.found import Discovery, Found
from monotui.sources.discovery.lister import Lister
from monotui.sources.discovery.merge import merge
from monotui.sources.discovery.prometheus import PrometheusFinding, find_prometheus
from monotui.sources.discovery.render import to_json, to_toml
from monotui.sources.discovery.run import discover

__all__ = [
    "Discovery",
    "Found",
    "Lister",
    "PrometheusFinding",
    "discover",
    "find_prometheus",
    "merge",
    "to_json",
    "to_toml",
]
