"""The live app against the real reference server on a free loopback port."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from tui_helpers import static_text, stream_lines, wait_for
from websockets.asyncio.client import connect

from busconsole.protocol import build_console_logs, build_mutation, build_query
from busconsole.sessions.live import LiveSession
from busconsole.tui.app import BusConsoleApp
from busconsole.tui.screens.console_logs import ConsoleList, ConsoleLogsScreen
from busconsole.tui.widgets.status import StatusBar

SIZE = (140, 40)


def types_in(app: BusConsoleApp) -> list[str]:
    return [app.store.facts(app.stream.rows.index(r)).type for r in range(len(app.stream.rows))]


def make_app(server: Any, **kw: Any) -> BusConsoleApp:
    return BusConsoleApp(LiveSession(server.url, subscribe=("partner",), record=False, **kw))


async def test_frames_appear_and_filter_narrows(server: Any) -> None:
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "SUBSCRIPTION_DATA" in types_in(app), "SUBSCRIPTION_DATA in the stream")
        assert any("SUBSCRIPTION_DATA" in line and "partner" in line for line in stream_lines(app))
        total = len(app.stream.rows)
        await pilot.press("slash", *"type:subscription_data", "enter")
        await wait_for(pilot, lambda: len(app.stream.rows) < total, "the filter to narrow the stream")
        assert set(types_in(app)) == {"SUBSCRIPTION_DATA"}
        assert app.focused is app.stream


async def test_bad_filter_shows_error_with_column_and_keeps_last_good(server: Any) -> None:
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"type:connection", "enter")
        await wait_for(pilot, lambda: types_in(app) == ["CONNECTION"], "only the CONNECTION frame")
        await pilot.press("slash", "ctrl+u", *"entity:")
        await pilot.press("enter")
        error = static_text(app.query_one("#filter-error"))
        assert "col 8" in error and "entity:" in error
        assert types_in(app) == ["CONNECTION"]  # the last good filter is still applied


async def test_detail_shows_pair_and_diff(server: Any) -> None:
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.session.status.phase == "connected", "connected")
        await app.session.send(build_query("partner", {"kind": "partner"}))
        await wait_for(pilot, lambda: app.store.values("type").get("QUERY_RESULT", 0) > 0, "the QUERY_RESULT")
        reply = app.store.positions("type", "QUERY_RESULT")[0]
        await wait_for(pilot, lambda: app.stream.jump_to_index(reply), "the reply in the stream")
        await pilot.press("enter")
        await pilot.press("right_square_bracket", "right_square_bracket")  # JSON -> Raw -> Pair
        head = static_text(app.query_one("#pair-head"))
        assert "answered" in head and "latency" in head and " ms" in head
        sub = app.store.positions("type", "SUBSCRIPTION_DATA")[0]
        await wait_for(pilot, lambda: app.stream.jump_to_index(sub), "the SUBSCRIPTION_DATA in the stream")
        await pilot.press("right_square_bracket")  # Pair -> Diff
        await pilot.pause()
        diff = static_text(app.query_one("#detail-diff"))
        assert "partner" in diff and "first state seen" in diff


async def test_console_view_shows_messages_with_levels(server: Any) -> None:
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.session.status.phase == "connected", "connected")
        await app.session.send(build_console_logs([
            {"level": "error", "message": "boom in PartnerRow", "stackTrace": "at PartnerRow (x.tsx:1:2)"},
            {"level": "warn", "message": "slow render"},
            {"level": "info", "message": "hello"},
        ]))
        await wait_for(pilot, lambda: len(app.store.console) == 3, "three console entries")
        await wait_for(pilot, lambda: "console ✖ 1" in static_text(app.query_one("#info-right")), "error badge")
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleLogsScreen), "the console screen")
        clist = app.screen.query_one(ConsoleList)
        await wait_for(pilot, lambda: len(clist.entries) == 3, "three console rows")
        rows = [clist.row(r, 120)[0].plain for r in range(3)]
        assert "ERROR" in rows[0] and "boom in PartnerRow" in rows[0]
        assert "WARN" in rows[1] and "INFO" in rows[2]
        await pilot.press("g")  # the first message: its stack trace shows below the list
        await pilot.pause()
        assert "x.tsx:1:2" in static_text(app.screen.query_one("#console-trace-text"))
        await pilot.press("1")  # hide errors
        await wait_for(pilot, lambda: len(clist.entries) == 2, "errors hidden")


async def test_subscribe_then_mutation_from_another_client_shows_store_update(server: Any) -> None:
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.session.status.phase == "connected", "connected")
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#subs-input").focus()
        await pilot.press(*"compute", "enter")
        await wait_for(pilot, lambda: "compute" in app.session.subscriptions, "the compute subscription")
        await wait_for(pilot, lambda: "compute" in app.store.values("entity"), "SUBSCRIPTION_DATA of compute")
        async with connect(server.url) as other:
            await other.send(orjson.dumps(build_mutation("compute", "UPDATE", {"id": 1, "status": "MAINTENANCE"})).decode())
            for _ in range(10):  # CONNECTION first, then the reply to the mutation
                reply = orjson.loads(await asyncio.wait_for(other.recv(), 10))
                if reply["type"] in ("MUTATION_SUCCESS", "ERROR"):
                    break
            assert reply["type"] == "MUTATION_SUCCESS"
        await wait_for(pilot, lambda: app.session.subscriptions.get("compute", 0) >= 2, "a compute update counted")
        await pilot.press("escape")
        # the stream takes in new frames on its next tick
        await wait_for(
            pilot,
            lambda: any("STORE_UPDATE" in line and "compute" in line for line in stream_lines(app)),
            "the STORE_UPDATE row in the stream",
        )


async def test_status_bar_shows_reconnecting_then_connected(server: Any) -> None:
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(StatusBar)
        await wait_for(pilot, lambda: "connected" in static_text(bar).split("│")[1], "connected")
        await wait_for(pilot, lambda: app.session.subscriptions["partner"] >= 1, "the first SUBSCRIPTION_DATA")
        updates = app.session.subscriptions["partner"]
        server.stop()
        await wait_for(pilot, lambda: "reconnecting" in static_text(bar), "reconnecting in the status bar")
        assert "attempt" in static_text(bar)
        server.start()
        await wait_for(pilot, lambda: static_text(bar).split("│")[1].strip().startswith("● connected"),
                       "connected again")
        # re-subscribed by itself: a fresh SUBSCRIPTION_DATA arrives
        await wait_for(pilot, lambda: app.session.subscriptions["partner"] > updates, "re-subscription")


async def test_a_lost_connection_is_a_row_and_r_reconnects_at_once(server: Any) -> None:
    """The drop and the return are rows in the stream; the status says why it waits; R skips
    the rest of the backoff."""
    app = make_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.session.status.phase == "connected", "connected")
        await asyncio.to_thread(server.stop)
        await wait_for(pilot, lambda: "CLIENT_CLOSE" in types_in(app), "the close row")
        status = app.session.status
        await wait_for(pilot, lambda: status.phase == "reconnecting" and status.attempt >= 4, "a long wait",
                       timeout=30)
        assert status.last_error and status.last_error in status.phase_text  # the status says why
        await asyncio.to_thread(server.start)
        waiting = (status.retry_in or 0.0)
        await pilot.press("R")
        await wait_for(pilot, lambda: "CLIENT_OPEN" in types_in(app), "the reopen row", timeout=max(1.0, waiting - 0.5))
