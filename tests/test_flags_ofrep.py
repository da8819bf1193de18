"""OFREP bulk evaluation against a real HTTP server on 127.0.0.1 (what every flags kind does, the
broken answers included, is the contract suite's: tests/test_contract_flags.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from monotui.errors import BackendUnavailableError, PermissionDeniedError
from monotui.sources.base import FlagSource
from monotui.sources.flags_ofrep import OfrepFlags
from tests.configs import rollout_config
from tests.ofrep_server import Ofrep, serve_ofrep


@pytest.fixture
def ofrep() -> Iterator[Ofrep]:
    with serve_ofrep() as state:
        yield state


def source(url: str, **flags: Any) -> OfrepFlags:
    rollout = rollout_config({"name": "shop", "flags": {"kind": "ofrep", "url": url, **flags}})
    return OfrepFlags(rollout)


def test_values_variants_and_reasons_per_flag(ofrep: Ofrep) -> None:
    src = source(ofrep.url + "/", context={"targetingKey": "ops", "tier": "gold"})
    assert isinstance(src, FlagSource) and not src.can_write
    flagset = src.read()
    flags = {f.key: f for f in flagset.flags}
    assert flags["new-checkout"].value is True and flags["new-checkout"].default_variant == "on"
    assert flags["headerColor"].reason == "SPLIT" and flags["headerColor"].targeting == "split"
    assert flags["limits"].value == {"rps": 10}
    assert flags["retries"].value == 2.5
    assert all(f.toggle is None for f in flagset.flags)
    path, headers, body = ofrep.requests[0]
    assert path == "/ofrep/v1/evaluate/flags"
    assert body == {"context": {"targetingKey": "ops", "tier": "gold"}}
    assert "If-None-Match" not in headers


def test_flag_not_found_shows_on_that_flag(ofrep: Ofrep) -> None:
    flagset = source(ofrep.url).read()
    gone = next(f for f in flagset.flags if f.key == "gone")
    assert gone.error == "FLAG_NOT_FOUND: flag gone was not found"
    assert gone.value is None
    assert flagset.errors == ("flag gone: FLAG_NOT_FOUND: flag gone was not found",)


def test_304_keeps_the_last_result(ofrep: Ofrep) -> None:
    src = source(ofrep.url)
    first = src.read()
    ofrep.body = {"flags": []}  # would empty the panel if the 304 were not honoured
    second = src.read()
    assert second is first
    assert ofrep.requests[1][1].get("If-None-Match") == '"v1"'
    ofrep.etag = '"v2"'
    third = src.read()
    assert third.flags == () and third.version == '"v2"'


def test_500_carries_the_servers_message(ofrep: Ofrep) -> None:
    ofrep.status, ofrep.body = 500, {"errorDetails": "database [red]down[/red]"}
    with pytest.raises(BackendUnavailableError, match=r"HTTP 500\): database \[red\]down"):
        source(ofrep.url).read()


def test_401_asks_for_credentials_and_headers_are_sent(ofrep: Ofrep) -> None:
    ofrep.status, ofrep.body = 401, {}
    with pytest.raises(PermissionDeniedError, match="headers"):
        source(ofrep.url, headers={"X-API-Key": "k1"}).read()
    assert ofrep.requests[0][1].get("X-API-Key") == "k1"


def test_a_slow_server_times_out(ofrep: Ofrep) -> None:
    ofrep.hang = threading.Event()
    with pytest.raises(BackendUnavailableError, match="did not answer within 0.2 s"):
        source(ofrep.url, timeout_s=0.2).read()


def test_markup_and_escapes_come_through_unchanged(ofrep: Ofrep) -> None:
    ofrep.body = {
        "flags": [
            {
                "key": "[red]x[/red]",
                "value": "\x1b[2J[b]boom[/b]",
                "variant": "[i]v",
                "reason": "STATIC",
            }
        ]
    }
    flag = source(ofrep.url).read().flags[0]
    assert flag.key == "[red]x[/red]"
    assert flag.value == "\x1b[2J[b]boom[/b]"
    assert flag.default_variant == "[i]v"
