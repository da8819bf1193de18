"""The contract every flags kind passes (the kinds: tests/contract_flags.py): read, compare-and-set
toggle, conflict, read-only refusal, dry-run, broken backends, unknown keys and close.

Each test runs on every case; what a case declares it cannot do (`cannot`) is asserted as a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui.errors import ConflictError, MonotuiError, NotFoundError, ReadOnlyError
from monotui.model import Flag
from monotui.sim.scenarios import toggled
from monotui.sources.base import FlagSet, FlagSource
from tests.contract_common import clean_line
from tests.contract_flags import FLAG_CASES, SPECS, FlagCan, FlagCase, LiveFlags

KILL_SWITCH = "new-checkout"  # enabled, on -> off
DISABLED = "legacy-payments"  # disabled -> enabled


@pytest.fixture(params=FLAG_CASES, ids=lambda case: case.kind)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveFlags]:
    case: FlagCase = request.param
    assert all(why.strip() for why in case.cannot.values()), "say why a kind cannot"
    assert case.breaks, "every source can break somehow: say how"
    backend = case.open(tmp_path)
    try:
        yield backend
    finally:
        backend.close()


def by_key(flagset: FlagSet) -> dict[str, Flag]:
    return {f.key: f for f in flagset.flags}


def expected(case: FlagCase) -> dict[str, tuple[str, str | None]]:
    """(state, default variant) per key, as the case's source reports them."""
    out: dict[str, tuple[str, str | None]] = {}
    for spec in SPECS:
        shown = spec.state == "ENABLED" or case.can(FlagCan.DISABLED_DEFAULT)
        out[spec.key] = (spec.state, spec.default_variant if shown else None)
    return out


def refused(live: LiveFlags, source: FlagSource, key: str, seen: FlagSet, **kw: Any) -> None:
    """A source that cannot toggle refuses, says so in one line, and changes nothing."""
    before = live.stored()
    with pytest.raises(ReadOnlyError) as caught:
        source.toggle(key, seen, **kw)
    assert "read-only" in clean_line(caught.value) and caught.value.exit_code == 4
    assert live.stored() == before


def test_read_returns_every_flag_with_key_state_and_default_variant(live: LiveFlags) -> None:
    source = live.build()
    assert source.kind == live.case.kind
    assert source.can_write == live.case.can(FlagCan.TOGGLE)
    flagset = source.read()
    assert {f.key: (f.state, f.default_variant) for f in flagset.flags} == expected(live.case)
    assert flagset.version and flagset.errors == ()
    again = source.read()  # nothing changed: the same flags at the same version
    assert (again.flags, again.version) == (flagset.flags, flagset.version)


@pytest.mark.parametrize("key", [KILL_SWITCH, DISABLED])
def test_a_toggle_flips_that_flag_and_leaves_the_others(live: LiveFlags, key: str) -> None:
    source = live.build()
    seen = source.read()
    if not live.case.can(FlagCan.TOGGLE):
        refused(live, source, key, seen)
        return
    assert source.toggle(key, seen)  # the patch or diff it sent
    spec = next(toggled(s) for s in SPECS if s.key == key)
    for reader in (source, live.build()):  # this instance, and any other
        now = reader.read()
        assert now.version != seen.version
        flags = by_key(now)
        assert (flags[key].state, flags[key].default_variant) == (spec.state, spec.default_variant)
        others = {k: f for k, f in flags.items() if k != key}
        assert others == {k: f for k, f in by_key(seen).items() if k != key}


def test_a_toggle_on_a_stale_flag_set_is_a_conflict_and_changes_nothing(live: LiveFlags) -> None:
    source = live.build()
    stale = source.read()
    if not live.case.can(FlagCan.TOGGLE):
        refused(live, source, KILL_SWITCH, stale)
        return
    live.toggle_elsewhere(KILL_SWITCH)  # someone turned the kill switch off meanwhile
    theirs = live.stored()
    for writer in (source, live.build()):  # the instance that read it, and a fresh one
        with pytest.raises(ConflictError) as conflict:
            writer.toggle(KILL_SWITCH, stale)
        assert "changed" in clean_line(conflict.value) and conflict.value.exit_code == 3
        assert live.stored() == theirs
    assert by_key(source.read())[KILL_SWITCH].default_variant == "off"  # theirs, as they left it


def test_dry_run_returns_the_exact_patch_and_changes_nothing(live: LiveFlags) -> None:
    source = live.build()
    seen = source.read()
    if not live.case.can(FlagCan.TOGGLE):
        refused(live, source, KILL_SWITCH, seen, dry_run=True)
        return
    before = live.stored()
    dry = source.toggle(KILL_SWITCH, seen, dry_run=True)
    assert dry and live.stored() == before
    assert source.read().version == seen.version
    assert source.toggle(KILL_SWITCH, seen) == dry  # what was shown is what is sent


@pytest.mark.parametrize(
    ("live", "how"),
    [
        pytest.param(case, how, id=f"{case.kind}-{how}")
        for case in FLAG_CASES
        for how in case.breaks
    ],
    indirect=["live"],
)
def test_a_broken_source_is_a_typed_error_in_one_clean_line(live: LiveFlags, how: str) -> None:
    error, says = live.case.breaks[how]
    assert error is not MonotuiError, "a typed error: a subclass with its exit code"
    source = live.broken(how)
    with pytest.raises(error) as caught:
        source.read()
    assert says in clean_line(caught.value)


def test_an_unknown_flag_is_not_found_and_named(live: LiveFlags) -> None:
    source = live.build()
    seen = source.read()
    assert "no-such-flag" not in by_key(seen)
    if not live.case.can(FlagCan.TOGGLE):
        refused(live, source, "no-such-flag", seen)
        return
    before = live.stored()
    with pytest.raises(NotFoundError) as missing:
        source.toggle("no-such-flag", seen)
    assert "'no-such-flag'" in clean_line(missing.value) and missing.value.exit_code == 2
    assert live.stored() == before


def test_close_exists_and_can_be_called_twice(live: LiveFlags) -> None:
    source = live.build()
    source.read()
    source.close()
    source.close()
