"""The Diff tab: a MUTATION shows what its reply and effects changed, each connection and
query keeps its own state (the proxy's c1 and c2 are never diffed against each other), and
"since #N" says which frame N is. Snapshots of the detail pane at 80x24 and 160x45."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pane_helpers import SIZES, app_over, shot
from textual.pilot import Pilot
from tui_helpers import freeze_tz, static_text, wait_for
from tui_sample import PARTNERS, fill

from busconsole.frames import CapturedFrame
from busconsole.store import EventStore
from busconsole.tui.app import BusConsoleApp

T0 = 1_758_332_020_000.0
ACTIVE = {"kind": "partner", "criteria": {"status": "ACTIVE"}}
EVERY = {"kind": "partner"}


@pytest.fixture(autouse=True)
def _utc() -> None:
    freeze_tz()


async def diff_of(pilot: Pilot[Any], app: BusConsoleApp, index: int) -> str:
    await wait_for(pilot, lambda: app.stream.jump_to_index(index), f"frame {index} in the stream")
    if not app.detail.display:
        await pilot.press("enter")
    app.detail.query_one("#detail-tabs").active = "tab-diff"  # type: ignore[attr-defined]
    app.detail.show(index)
    await pilot.pause()
    return static_text(app.detail.query_one("#detail-diff"), width=160)  # type: ignore[arg-type]


async def test_a_mutation_shows_the_diff_its_reply_and_effects_caused() -> None:
    store = EventStore()
    fill(store)
    mutation = store.positions("type", "MUTATION")[0]
    update = store.positions("type", "STORE_UPDATE")[0]
    assert update in store.pairing.effects_of(mutation)
    app = app_over(store)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        shown = await diff_of(pilot, app, mutation)
        assert "changed no entity state" not in shown
        assert "What this MUTATION changed" in shown
        assert "MUTATION_SUCCESS" in shown and "STORE_UPDATE" in shown
        assert "$.data[id=3].status" in shown and "SUSPENDED" in shown and "ACTIVE" in shown


def frame(seq: int, conn: str, direction: str, obj: dict[str, Any]) -> CapturedFrame:
    t = T0 + seq * 100
    return CapturedFrame(seq, t, direction, conn, orjson.dumps({**obj, "timestamp": int(t)}))


def state(query: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"entity": "partner", "query": query, "data": rows, "meta": {"total": len(rows)}}


def proxy_store() -> tuple[EventStore, dict[str, int]]:
    """Two clients through the proxy: c1 asks for ACTIVE partners, c2 subscribes to all of them;
    then c1 asks again and c2 gets a STORE_UPDATE with one row changed."""
    store = EventStore()
    at = {}
    active = [p for p in PARTNERS if p["status"] == "ACTIVE"]
    at["c2_sub"] = store.append(frame(1, "c2", "in", {"type": "SUBSCRIPTION_DATA", "entity": "partner",
                                                     "data": state(EVERY, PARTNERS)}))
    store.append(frame(2, "c1", "out", {"type": "QUERY", "entity": "partner", "query": ACTIVE, "payload": ACTIVE,
                                       "requestId": "req_1"}))
    at["c1_result"] = store.append(frame(3, "c1", "in", {"type": "QUERY_RESULT", "entity": "partner",
                                                        "requestId": "req_1", "data": state(ACTIVE, active)}))
    store.append(frame(4, "c1", "out", {"type": "QUERY", "entity": "partner", "query": ACTIVE, "payload": ACTIVE,
                                       "requestId": "req_2"}))
    at["c1_again"] = store.append(frame(5, "c1", "in", {"type": "QUERY_RESULT", "entity": "partner",
                                                       "requestId": "req_2", "data": state(ACTIVE, active)}))
    renamed = [PARTNERS[0], {**PARTNERS[1], "name": "Carrier 2"}, PARTNERS[2]]
    at["c2_update"] = store.append(frame(6, "c2", "in", {"type": "STORE_UPDATE", "entity": "partner",
                                                        "data": state(EVERY, renamed)}))
    return store, at


async def test_each_connection_and_query_keeps_its_own_state() -> None:
    store, at = proxy_store()
    d = store.state.diff_at(at["c2_update"])
    assert d is not None and d.previous == at["c2_sub"] and d.conn == "c2" and d.query == EVERY
    assert [c.path for c in d.changes] == ["$.data[id=2].name"]  # not c1's two ACTIVE rows
    again = store.state.diff_at(at["c1_again"])
    assert again is not None and again.previous == at["c1_result"] and again.changes == []
    app = app_over(store)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        shown = await diff_of(pilot, app, at["c2_update"])
        assert "partner on c2" in shown and '"kind":"partner"' in shown
        # what "since #N" refers to: that frame's time, type and connection
        assert f"since #{at['c2_sub']}" in shown and "SUBSCRIPTION_DATA on c2" in shown
        assert "previous state of this view" in shown
        assert "$.data[id=2].name" in shown and "Carrier 2" in shown and "removed" not in shown


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_snapshot_detail_diff_of_a_mutation(snap_compare: Any, size: tuple[int, int]) -> None:
    """You should see the stream above and the detail pane below on the Diff tab of the MUTATION:
    'What this MUTATION changed', the MUTATION_SUCCESS and the STORE_UPDATE it caused, each with
    '~ $.data[id=3].status "SUSPENDED" → "ACTIVE"' and 'since #N <time> <type> on c1'."""
    store = EventStore()
    fill(store)
    name = f"detail-diff-{size[0]}x{size[1]}"
    keys = ("enter", "right_square_bracket", "right_square_bracket", "right_square_bracket")
    run = shot(name, lambda s: s.positions("type", "MUTATION")[0], *keys)
    assert snap_compare(app_over(store), terminal_size=size, run_before=run)
