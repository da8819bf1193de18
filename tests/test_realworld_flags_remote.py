"""OFREP answers and FeatureFlag resources in the shapes real servers and manifests have.

OFREP shapes follow open-feature/protocol's service/openapi.yaml and what flagd's OFREP service
really sends (core/pkg/service/ofrep/models.go: `{}` for no flags in older releases, flag-set
`metadata`, FLAG_DISABLED / FLAG_NOT_FOUND "is disabled", a code-default answer without `value`).
FeatureFlag shapes follow the OpenFeature operator's v1beta1 sample and its older
FeatureFlagConfiguration. Values are our own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monotui.config import KubernetesConfig
from monotui.errors import BackendUnavailableError, SourceError
from monotui.sources.flags_featureflag import GROUP, PLURAL, VERSION, FeatureFlagFlags
from monotui.sources.flags_ofrep import OfrepFlags
from monotui.sources.kube import connect
from tests import fakekube
from tests.configs import rollout_config
from tests.fakekube import FakeKube

fake_kube = fakekube.fake_kube
fake_kubeconfig = fakekube.fake_kubeconfig


@dataclass
class Answer:
    """What the OFREP server answers next."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    url: str = ""
    requests: int = 0  # how many evaluations were asked for


@pytest.fixture
def server() -> Iterator[Answer]:
    answer = Answer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer.requests += 1
            data = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    answer.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield answer
    httpd.shutdown()
    httpd.server_close()


def ofrep(url: str) -> OfrepFlags:
    rollout = rollout_config(
        {"name": "shop", "flags": {"kind": "ofrep", "url": url, "context": {"targetingKey": "u1"}}}
    )
    return OfrepFlags(rollout)


def test_a_flagd_bulk_answer_shows_each_flag_as_evaluated(server: Answer) -> None:
    server.body = {
        "flags": [
            {"key": "new-checkout", "value": False, "reason": "STATIC", "variant": "off",
             "metadata": {"flagSetId": "shop", "version": "7"}},
            {"key": "theme", "value": {"accent": "#0af", "dense": True}, "reason": "TARGETING_MATCH",
             "variant": "dense", "metadata": {}},
            {"key": "retries", "value": 3, "reason": "SPLIT", "variant": "three", "metadata": {}},
            {"key": "code-default", "reason": "DEFAULT", "metadata": {}},
            {"key": "old-banner", "errorCode": "FLAG_NOT_FOUND",
             "errorDetails": "flag `old-banner` is disabled", "metadata": {}},
            {"key": "broken", "errorCode": "PARSE_ERROR",
             "errorDetails": "error parsing the flag `broken`", "metadata": {}},
            {"key": "needs-key", "errorCode": "TARGETING_KEY_MISSING"},
        ],
        "metadata": {"flagSetId": "shop", "version": "7"},
    }  # fmt: skip
    flagset = ofrep(server.url).read()
    flags = {f.key: f for f in flagset.flags}
    assert (flags["new-checkout"].value, flags["new-checkout"].default_variant) == (False, "off")
    assert flags["new-checkout"].targeting == "static" and flags["new-checkout"].state == "ENABLED"
    assert flags["theme"].value == {"accent": "#0af", "dense": True}
    assert flags["theme"].targeting == "targeting match"
    assert (flags["retries"].value, flags["retries"].reason) == (3, "SPLIT")
    assert flags["code-default"].value is None
    assert flags["code-default"].targeting == "default (code default)"
    assert flags["code-default"].error is None
    assert (flags["old-banner"].state, flags["old-banner"].error) == ("DISABLED", None)
    assert flags["broken"].error == "PARSE_ERROR: error parsing the flag `broken`"
    assert flags["needs-key"].error == "TARGETING_KEY_MISSING"
    assert flagset.errors == (
        "flag broken: PARSE_ERROR: error parsing the flag `broken`",
        "flag needs-key: TARGETING_KEY_MISSING",
    )


def test_older_flagd_flag_disabled_code_is_the_disabled_state(server: Answer) -> None:
    server.body = {"flags": [{"key": "k", "errorCode": "FLAG_DISABLED",
                              "errorDetails": "flag `k` is disabled"}]}  # fmt: skip
    flag = ofrep(server.url).read().flags[0]
    assert (flag.state, flag.targeting, flag.error) == ("DISABLED", "disabled", None)


@pytest.mark.parametrize("body", [{}, {"metadata": {"flagSetId": "empty"}}, {"flags": []}])
def test_no_flags_at_all_is_an_empty_panel_not_an_error(server: Answer, body: Any) -> None:
    server.body = body
    flagset = ofrep(server.url).read()
    assert (flagset.flags, flagset.errors) == ((), ())


def test_a_json_answer_that_is_not_a_bulk_evaluation_is_refused(server: Answer) -> None:
    server.body = {"status": "ok", "version": "1.2.3"}  # a health endpoint, say
    with pytest.raises(SourceError, match="without a 'flags' list"):
        ofrep(server.url).read()


def test_bulk_failure_400_carries_the_error_code(server: Answer) -> None:
    server.status = 400
    server.body = {"errorCode": "INVALID_CONTEXT", "errorDetails": "Provider context is not valid"}
    with pytest.raises(SourceError, match="INVALID_CONTEXT: Provider context is not valid"):
        ofrep(server.url).read()


def test_rate_limit_says_when_to_retry_under_either_header_name(server: Answer) -> None:
    server.status = 429
    server.body = {}
    server.headers = {"Retry-Later": "2025-02-07T12:00:00Z"}
    with pytest.raises(BackendUnavailableError, match="retry after 2025-02-07T12:00:00Z"):
        ofrep(server.url).read()


@pytest.mark.parametrize("retry", ["120", "2999-02-07T12:00:00Z", "Thu, 07 Feb 2999 12:00:00 GMT"])
def test_a_rate_limited_service_is_not_asked_again_before_retry_after(
    server: Answer, retry: str
) -> None:
    server.status, server.body, server.headers = 429, {}, {"Retry-After": retry}
    source = ofrep(server.url)
    with pytest.raises(BackendUnavailableError, match="HTTP 429, retry after"):
        source.read()
    server.status, server.headers = 200, {}
    server.body = {"flags": [{"key": "a", "value": True, "reason": "STATIC", "variant": "on"}]}
    with pytest.raises(BackendUnavailableError, match="HTTP 429, retry after"):
        source.read()  # the next poll: still rate limited, and nothing sent
    assert server.requests == 1


def test_a_retry_after_that_has_passed_asks_again(server: Answer) -> None:
    server.status, server.body, server.headers = 429, {}, {"Retry-After": "0"}
    source = ofrep(server.url)
    with pytest.raises(BackendUnavailableError):
        source.read()
    server.status, server.headers = 200, {}
    server.body = {"flags": [{"key": "a", "value": True, "reason": "STATIC", "variant": "on"}]}
    assert [f.key for f in source.read().flags] == ["a"]
    assert server.requests == 2


def test_server_error_shows_the_general_error_details(server: Answer) -> None:
    server.status = 500
    server.body = {"errorDetails": "Bulk evaluation failed. Tracking ID: c1a2b3"}
    with pytest.raises(BackendUnavailableError, match="Tracking ID: c1a2b3"):
        ofrep(server.url).read()


NS = "shop"


def resource(spec: dict[str, Any], api: str = f"{GROUP}/{VERSION}") -> dict[str, Any]:
    meta = {"name": "shop-flags", "namespace": NS, "labels": {"app.kubernetes.io/name": "shop"}}
    return {"apiVersion": api, "kind": "FeatureFlag", "metadata": meta, "spec": spec}


@pytest.fixture
def kube_source(fake_kubeconfig: Path) -> Iterator[FeatureFlagFlags]:
    kube = connect(KubernetesConfig(kubeconfig=fake_kubeconfig))
    rollout = rollout_config(
        {"name": "shop", "namespace": NS, "flags": {"kind": "featureflag", "name": "shop-flags"}}
    )
    yield FeatureFlagFlags(kube, rollout)
    kube.api_client.close()


def test_an_operator_style_featureflag_reads_and_toggles(
    fake_kube: FakeKube, kube_source: FeatureFlagFlags
) -> None:
    fake_kube.put_object(resource({"flagSpec": {
        "flags": {
            "simple-flag": {"state": "ENABLED", "variants": {"on": True, "off": False},
                            "defaultVariant": "on"},
            "a~b/c": {"state": "ENABLED", "variants": {"yes": True, "no": False},
                      "defaultVariant": "no", "targeting": {"fractional": [["yes", 5], ["no", 95]]}},
            "limits": {"state": "ENABLED", "variants": {"s": {"rps": 10}, "l": {"rps": 1000}},
                       "defaultVariant": "s", "targeting": {"if": [{"$ref": "eu"}, "l", None]}},
        },
        "$evaluators": {"eu": {"in": [{"var": "region"}, ["eu-west-1", "eu-central-1"]]}},
    }}))  # fmt: skip
    flagset = kube_source.read()
    flags = {f.key: f for f in flagset.flags}
    assert flagset.errors == ()
    assert flags["a~b/c"].targeting == "fractional: yes 5 % / no 95 %"
    assert flags["limits"].value == {"rps": 10}
    assert flags["limits"].targeting == "if region in [eu-west-1, eu-central-1] -> l"
    patch = json.loads(kube_source.toggle("a~b/c", flagset))
    assert patch[-1] == {
        "op": "replace",
        "path": "/spec/flagSpec/flags/a~0b~1c/defaultVariant",
        "value": "yes",
    }
    stored = fake_kube.get_object(GROUP, VERSION, PLURAL, NS, "shop-flags")
    assert stored["spec"]["flagSpec"]["flags"]["a~b/c"]["defaultVariant"] == "yes"
    assert stored["spec"]["flagSpec"]["$evaluators"]["eu"]["in"][1] == ["eu-west-1", "eu-central-1"]


@pytest.mark.parametrize(
    "spec",
    [
        {"featureFlagSpec": '{"flags": {"a": {"state": "ENABLED"}}}'},  # v1alpha1: a JSON string
        {"featureFlagSpec": {"flags": {"a": {"state": "ENABLED", "variants": {"on": True},
                                             "defaultVariant": "on"}}}},  # v1alpha2/3
    ],
)  # fmt: skip
def test_the_old_configuration_shape_says_where_the_flags_go(
    fake_kube: FakeKube, kube_source: FeatureFlagFlags, spec: dict[str, Any]
) -> None:
    fake_kube.put_object(resource(spec))
    with pytest.raises(SourceError, match="spec.featureFlagSpec.*move the flags there"):
        kube_source.read()


def test_an_empty_spec_is_a_clear_error(fake_kube: FakeKube, kube_source: FeatureFlagFlags) -> None:
    fake_kube.put_object(resource({}))  # the scaffolded "TODO(user): Add fields here" sample
    with pytest.raises(SourceError, match="has no spec.flagSpec"):
        kube_source.read()


def test_an_empty_default_variant_is_the_code_default_as_in_flagd(
    fake_kube: FakeKube, kube_source: FeatureFlagFlags
) -> None:
    # The CRD's defaultVariant is a required string, so "use the code default" is written "".
    fake_kube.put_object(resource({"flagSpec": {"flags": {
        "code-default": {"state": "ENABLED", "variants": {"on": True, "off": False},
                         "defaultVariant": "", "targeting": {"if": [{"var": "beta"}, "on"]}},
        "parked": {"state": "DISABLED", "variants": {"a": "x"}, "defaultVariant": ""},
    }}}))  # fmt: skip
    flagset = kube_source.read()
    flags = {f.key: f for f in flagset.flags}
    assert flagset.errors == ()
    assert (flags["code-default"].default_variant, flags["code-default"].value) == (None, None)
    assert flags["code-default"].targeting == "if beta -> on"
    assert flags["parked"].toggle == "enable"
    kube_source.toggle("parked", flagset)
    stored = fake_kube.get_object(GROUP, VERSION, PLURAL, NS, "shop-flags")
    assert stored["spec"]["flagSpec"]["flags"]["parked"] == {
        "state": "ENABLED", "variants": {"a": "x"}, "defaultVariant": ""
    }  # fmt: skip
