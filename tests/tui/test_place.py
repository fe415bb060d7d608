"""Keeping your place in the stream: filters, toggles, panes, `f` and Esc never lose the frame
you were on (or the newest one, when following)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from tui_helpers import freeze_tz
from tui_sample import Feeder, fill

import busconsole.tui.rows as rows
from busconsole.sessions.base import StoreSession
from busconsole.store import EventStore
from busconsole.tui.app import BusConsoleApp

SMALL = (80, 24)


def busy_app(rounds: int = 30) -> tuple[BusConsoleApp, Feeder]:
    """The sample session with many query rounds: more rows than an 80×24 screen shows."""
    freeze_tz()
    store = EventStore()
    fill(store, rounds=rounds)
    app = BusConsoleApp(StoreSession(store, "ws://127.0.0.1:3013/store-debug", phase="connected"))
    return app, Feeder(store)


def more_frames(feeder: Feeder, n: int = 6) -> None:
    """Frames arriving after the person did something: a query and its result, n/2 times."""
    for k in range(n // 2):
        req = f"req_more_{feeder.seq}_{k}"
        feeder.add("out", {"type": "QUERY", "entity": "partner", "payload": {"kind": "partner"}, "requestId": req})
        feeder.add("in", {"type": "QUERY_RESULT", "entity": "partner", "requestId": req, "data": []})


def following(stream: Any) -> bool:
    return bool(stream.follow and stream.pinned and not stream.paused)


def on_screen(app: BusConsoleApp) -> bool:
    stream = app.stream
    top = round(stream.scroll_y)
    return top <= stream.cursor < top + stream.scrollable_content_region.height


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    pilot.app.tick()
    await pilot.pause()


async def test_filters_and_toggles_keep_following() -> None:
    app, feeder = busy_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        stream = app.stream
        assert following(stream)
        for keys in (["slash", *"entity:partner", "enter"], ["3"], ["1"], ["escape"], ["3"], ["1"]):
            await pilot.press(*keys)
            await settle(pilot)
            assert following(stream), f"after {keys}"
            assert stream.cursor == len(stream.rows) - 1, f"after {keys}: the newest row is selected"
            more_frames(feeder)
            await settle(pilot)
            assert stream.cursor == len(stream.rows) - 1 and stream.unseen == 0, f"new frames after {keys}"
            assert on_screen(app)
            assert "new" not in str(app.info_right.content)


async def test_filter_keeps_the_selected_frame_when_not_following() -> None:
    app, _ = busy_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        stream = app.stream
        await pilot.press(*["up"] * 40)  # an older QUERY, well above the screen's first rows
        while app.store.facts(stream.selected_index or 0).type != "QUERY":
            await pilot.press("up")
        chosen = stream.selected_index
        assert chosen is not None and not following(stream)
        await pilot.press("slash", *"type:QUERY", "enter")
        await settle(pilot)
        assert stream.selected_index == chosen and on_screen(app)
        await pilot.press("3")  # hide updates: the QUERY is still shown
        await settle(pilot)
        assert stream.selected_index == chosen and on_screen(app)
        await pilot.press("escape")  # clear the filter: every frame again
        await settle(pilot)
        assert stream.selected_index == chosen and on_screen(app)
        await pilot.press("1")  # hide queries: the nearest frame shown is selected instead
        await settle(pilot)
        near = stream.selected_index
        shown = [stream.rows.index(r) for r in range(len(stream.rows))]
        assert near is not None and near != chosen and chosen not in shown
        assert abs(near - chosen) == min(abs(i - chosen) for i in shown) and on_screen(app)
        assert not following(stream)


async def test_opening_the_detail_pane_keeps_the_selected_row_visible() -> None:
    app, _ = busy_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        for ups in (2, 12):  # near the bottom of the screen, then in its middle
            await pilot.press(*["up"] * ups)
            chosen = app.stream.selected_index
            await pilot.press("enter")
            await settle(pilot)
            assert app.detail.display
            assert app.stream.selected_index == chosen and on_screen(app)
            await pilot.press("escape")
            await settle(pilot)
            assert not app.detail.display and on_screen(app)


async def test_f_goes_to_the_newest_frame_and_follows_and_says_so() -> None:
    app, feeder = busy_app()
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await settle(pilot)
        stream = app.stream
        await pilot.press(*["up"] * 30)
        more_frames(feeder)
        await settle(pilot)
        assert not following(stream) and stream.unseen > 0
        for _ in range(2):  # not a toggle: a second f follows too
            await pilot.press("f")
            await settle(pilot)
            assert following(stream) and stream.cursor == len(stream.rows) - 1 and on_screen(app)
            assert any("Following the newest frame" in str(n.message) for n in app._notifications)
            more_frames(feeder)
            await settle(pilot)
            assert stream.cursor == len(stream.rows) - 1 and stream.unseen == 0


async def test_f_while_paused_resumes_and_follows() -> None:
    app, feeder = busy_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("space")
        more_frames(feeder)
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        stream = app.stream
        assert not stream.paused and following(stream)
        assert stream.selected_index == len(app.store) - 1


async def test_escape_closes_the_pane_first_then_clears_the_filter() -> None:
    app, _ = busy_app(rounds=3)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"type:QUERY", "enter")
        await settle(pilot)
        shown = len(app.stream.rows)
        assert shown < len(app.store)
        await pilot.press("enter")
        assert app.detail.display
        await pilot.press("escape")
        assert not app.detail.display and app.filter_bar.applied == "type:QUERY"
        await pilot.press("escape")
        await settle(pilot)
        assert app.filter_bar.applied == "" and len(app.stream.rows) == len(app.store)
        assert app.filter_bar.input.value == ""
        await pilot.press("escape")  # nothing left to close or clear: harmless
        await settle(pilot)
        assert len(app.stream.rows) == len(app.store)


async def test_a_stepped_filter_selects_the_kept_frame_once_it_gets_there() -> None:
    """A filter applied a slice per tick (big replayed files) places the cursor when it reaches
    the selected frame, not on whatever row it had found so far."""
    app, _ = busy_app(rounds=300)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        stream = app.stream
        await pilot.press(*["up"] * 20)
        while app.store.facts(stream.selected_index or 0).type != "QUERY":
            await pilot.press("up")
        chosen = stream.selected_index
        stream.filter_budget = 0.0  # the least a slice may be: FIRST_STEP // 10 frames
        step, rows.FIRST_STEP = rows.FIRST_STEP, 100
        try:
            await pilot.press("slash", *"type:QUERY", "enter")
            for _ in range(300):
                if not stream.rows.behind:
                    break
                await settle(pilot)
            assert not stream.rows.behind
            assert stream.selected_index == chosen and on_screen(app)
        finally:
            rows.FIRST_STEP = step
