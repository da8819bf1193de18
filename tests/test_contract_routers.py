"""The contract every router kind passes (the kinds: tests/contract_routers.py): read, compare-and-set
write, conflict, 403, 404, unreachable, the stored pause, watch, dry-run, read-only and close.

Each test runs on every case; what a case declares it cannot do (`cannot`) is asserted as a refusal.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    PermissionDeniedError,
    ReadOnlyError,
)
from monotui.model import Weights
from monotui.sources.base import PauseStore, Router, RouteState, StepRouter, StoredPause
from tests.contract_common import Recorder, Unsupported, clean_line
from tests.contract_routers import (
    HOWS_UNREACHABLE,
    ROUTER_CASES,
    TIMEOUT_S,
    Can,
    LiveWorld,
    RouterCase,
    applied,
    other_weights,
    patches_in,
    store_pause,
    write_once,
)
from tests.router_helpers import wait_for


@pytest.fixture(params=ROUTER_CASES, ids=lambda case: case.kind)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveWorld]:
    case: RouterCase = request.param
    assert all(why.strip() for why in case.cannot.values()), "say why a kind cannot"
    world = case.open(tmp_path)
    try:
        yield world
    finally:
        world.close()


def test_read_gives_weights_summing_to_100_and_a_version(live: LiveWorld) -> None:
    case = live.case
    router = live.build()
    assert router.kind == case.kind
    assert router.can_write == case.can(Can.WRITE)
    # The protocols the actuator picks its verbs by are the ones the case declares.
    assert isinstance(router, StepRouter) == (case.can(Can.WRITE) and not case.can(Can.WEIGHTS))
    assert isinstance(router, PauseStore | StepRouter) == case.can(Can.PAUSE)
    state = router.read()
    assert isinstance(state.weights, Weights)
    assert state.weights.stable + state.weights.canary == 100
    assert state.version and state.resource
    again = router.read()  # nothing changed: the same version
    assert (again.weights, again.version) == (state.weights, state.version)


def test_a_write_changes_weights_and_version_and_the_next_read_sees_it(live: LiveWorld) -> None:
    router = live.build()
    state = router.read()
    if not live.case.can(Can.WRITE):
        with pytest.raises(ReadOnlyError):
            write_once(router, state)
        assert router.read() == state
        return
    result = write_once(router, state)
    assert result.state is not None and result.patch
    assert result.state.weights != state.weights
    assert result.state.version != state.version
    for reader in (router, live.build()):  # this instance, and any other
        now = reader.read()
        assert (now.weights, now.version) == (result.state.weights, result.state.version)


def test_any_weights_are_written_exactly_or_refused_as_declared(live: LiveWorld) -> None:
    router = live.build()
    state = router.read()
    target = other_weights(state.weights)
    if live.case.can(Can.WEIGHTS):
        result = router.write(target, state)
        assert result.state is not None and result.state.weights == target
        assert router.read().weights == target
        return
    before = live.stored()
    with pytest.raises(MonotuiError) as refused:
        router.write(target, state)
    clean_line(refused.value)
    assert live.stored() == before
    if live.case.can(Can.WIRE):
        assert live.sent() == []


def test_a_write_on_a_stale_state_is_a_conflict_and_changes_nothing(live: LiveWorld) -> None:
    router = live.build()
    stale = router.read()
    if not live.case.can(Can.WRITE):
        with pytest.raises(ReadOnlyError):
            write_once(router, stale)
        return
    live.change_elsewhere()
    theirs = live.stored()
    for writer in (router, live.build()):  # the instance that read it, and a fresh one
        with pytest.raises(ConflictError) as conflict:
            write_once(writer, stale)
        assert "changed since it was read" in clean_line(conflict.value)
        assert conflict.value.exit_code == 3
        assert live.stored() == theirs
    assert router.read().weights != stale.weights  # their change, shown as it is


def test_a_403_is_permission_denied_naming_the_missing_verb(live: LiveWorld) -> None:
    router = live.build()
    state = router.read()
    if not live.case.can(Can.RBAC):
        with pytest.raises(Unsupported):
            live.deny("get")
        assert router.read() == state
        return
    live.deny("get")
    with pytest.raises(PermissionDeniedError) as denied:
        router.read()
    assert "'get'" in clean_line(denied.value) and denied.value.exit_code == 4
    live.allow_all()
    if live.case.can(Can.WRITE):
        before = live.stored()
        live.deny("patch")
        with pytest.raises(PermissionDeniedError) as denied:
            write_once(router, state)
        assert "'patch'" in clean_line(denied.value) and denied.value.exit_code == 4
        assert live.stored() == before


def test_a_missing_object_is_not_found_and_named(live: LiveWorld) -> None:
    if not live.case.can(Can.MISSING):
        state = live.build(name="ratings").read()  # there is nothing that could be missing
        assert state.weights.stable + state.weights.canary == 100
        return
    with pytest.raises(NotFoundError) as missing:
        live.build(name="ratings").read()
    assert "ratings" in clean_line(missing.value) and missing.value.exit_code == 2


@pytest.mark.parametrize("how", HOWS_UNREACHABLE)
def test_an_unreachable_api_is_backend_unavailable_within_the_timeout(
    live: LiveWorld, how: str
) -> None:
    if not live.case.can(Can.NETWORK):
        with pytest.raises(Unsupported):
            live.unreachable(how)
        return
    router = live.unreachable(how)
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError) as unavailable:
        router.read()
    # Bounded by the configured timeout, not by the answer (which takes 10 timeouts, or never).
    assert time.monotonic() - started < 3 * TIMEOUT_S
    said = clean_line(unavailable.value)
    assert ("did not answer in time" if how == "silent" else "unreachable") in said
    assert unavailable.value.exit_code == 5


def test_the_stored_pause_round_trips_and_a_second_router_sees_it(live: LiveWorld) -> None:
    case = live.case
    router = live.build()
    state = router.read()
    if not case.can(Can.PAUSE):
        assert state.pause is None  # the actuator then refuses pause/resume and says why
        return
    assert state.pause == StoredPause(False)
    paused = store_pause(router, True, "alice: bad graphs", state)
    assert paused.state is not None and paused.state.pause is not None
    assert paused.state.pause.paused and paused.state.weights == state.weights
    other = live.build()
    seen = other.read()
    by = "alice: bad graphs" if case.can(Can.PAUSE_BY) else ""
    assert seen.pause == StoredPause(True, by)
    assert seen.weights == state.weights  # a pause never moves traffic
    store_pause(other, False, "", seen)
    assert router.read().pause == StoredPause(False)


def test_watch_delivers_a_change_made_elsewhere_and_not_our_own_write(live: LiveWorld) -> None:
    router = live.build()
    state = router.read()
    seen: Recorder[RouteState] = Recorder()
    errors: Recorder[MonotuiError] = Recorder()
    stop = router.watch(seen, errors)
    if not live.case.can(Can.WATCH):
        assert stop is None  # the protocol's "cannot watch": the observer polls instead
        return
    assert stop is not None
    try:
        if live.case.can(Can.WRITE):
            write_once(router, state)  # ours: the cockpit has it already, it is no news
        live.change_elsewhere()
        theirs = live.build().read()
        wait_for(seen.items)
        # Ordered: had our own write been delivered, it would have come first.
        assert [(s.weights, s.version) for s in seen.items()] == [(theirs.weights, theirs.version)]
    finally:
        stop()
    assert errors.items() == []


def test_a_denied_watch_reports_through_on_error(live: LiveWorld) -> None:
    router = live.build()
    router.read()
    seen: Recorder[RouteState] = Recorder()
    errors: Recorder[MonotuiError] = Recorder()
    if not live.case.can(Can.WATCH):
        assert router.watch(seen, errors) is None
        assert errors.items() == []
        return
    live.deny("watch")
    stop = router.watch(seen, errors)
    assert stop is not None
    try:
        wait_for(errors.items)
    finally:
        stop()
    error = errors.items()[0]
    assert isinstance(error, PermissionDeniedError)
    assert "'watch'" in clean_line(error)
    assert seen.items() == []


def test_dry_run_sends_nothing_and_returns_the_exact_patch(live: LiveWorld) -> None:
    case = live.case
    router = live.build()
    state = router.read()
    if not case.can(Can.WRITE):
        with pytest.raises(ReadOnlyError):
            write_once(router, state, dry_run=True)
        return
    before, document = live.stored(), live.document()
    dry = write_once(router, state, dry_run=True)
    assert dry.state is None and dry.patch
    assert live.stored() == before
    if case.can(Can.WIRE):
        assert live.sent() == []
    wet = write_once(router, state)
    assert wet.patch == dry.patch
    # Exact: applied to the object as it was read, it gives the object the real write left.
    assert applied(document, dry.patch) == applied(live.document(), "")
    if case.can(Can.WIRE):
        sent = live.sent()
        assert [body for _, body in sent] == [ops for _, ops in patches_in(dry.patch)]
        for (path, _), (endpoint, _) in zip(sent, patches_in(dry.patch), strict=True):
            assert endpoint is None or path.endswith(f"/{endpoint}")
    else:
        with pytest.raises(Unsupported):
            live.sent()


def test_built_read_only_it_cannot_write_at_all(live: LiveWorld) -> None:
    router = live.build(read_only=True)
    assert not router.can_write
    state = router.read()
    before = live.stored()
    with pytest.raises(ReadOnlyError) as refused:
        write_once(router, state)
    said = clean_line(refused.value)
    if live.case.can(Can.WRITE):  # it says why, and that nothing went out
        assert "read-only" in said and "nothing was sent" in said
    if live.case.can(Can.PAUSE):
        with pytest.raises(ReadOnlyError):
            store_pause(router, True, "alice: read-only", state)
    assert live.stored() == before
    if live.case.can(Can.WIRE):
        assert live.sent() == []


def test_close_exists_and_can_be_called_twice(live: LiveWorld) -> None:
    router: Router = live.build()
    router.read()
    router.close()
    router.close()
