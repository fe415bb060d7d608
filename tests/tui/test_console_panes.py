"""The console logs screen: time order across late batches and connections, the connection
on each row, and Enter going to the frame in the stream. Snapshots at 80x24 and 160x45."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pane_helpers import SIZES, app_over, shot
from tui_helpers import freeze_tz, wait_for
from tui_sample import fill

from busconsole.frames import CapturedFrame
from busconsole.sessions.base import StoreSession
from busconsole.store import EventStore
from busconsole.tui.app import BusConsoleApp
from busconsole.tui.screens.console_logs import ConsoleList, ConsoleLogsScreen

T0 = 1_758_332_020_000.0


@pytest.fixture(autouse=True)
def _utc() -> None:
    freeze_tz()


def batch(seq: int, t: float, conn: str, messages: list[dict[str, Any]]) -> CapturedFrame:
    obj = {"type": "CONSOLE_LOGS", "metadata": {"source": "admin-ui", "sessionId": f"session_cda2{conn}9f1e7a"},
           "messages": messages, "timestamp": int(t)}
    return CapturedFrame(seq, t, "out", conn, orjson.dumps(obj))


def interleaved_store() -> tuple[EventStore, dict[str, int]]:
    """c2 flushes its batch first though c1 logged first; c1's batch holds the oldest message."""
    store = EventStore()
    at: dict[str, int] = {}
    store.append(CapturedFrame(1, T0, "in", "c1", orjson.dumps({"type": "CONNECTION", "status": "connected"})))
    at["c2"] = store.append(batch(2, T0 + 1000, "c2", [
        {"level": "info", "message": "second: c2 rendered", "timestamp": T0 + 300},
        {"level": "warn", "message": "fourth: c2 slow", "timestamp": T0 + 900},
    ]))
    at["c1"] = store.append(batch(3, T0 + 2000, "c1", [
        {"level": "error", "message": "first: c1 failed", "timestamp": T0 + 100},
        {"level": "log", "message": "third: c1 retried", "timestamp": T0 + 500},
    ]))
    return store, at


async def test_console_rows_are_in_time_order_with_the_connection_and_enter_goes_to_the_frame() -> None:
    store, at = interleaved_store()
    app = BusConsoleApp(StoreSession(store, "ws://127.0.0.1:3013/store-debug", phase="connected"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleLogsScreen), "the console screen")
        clist = app.screen.query_one(ConsoleList)
        await wait_for(pilot, lambda: clist.row_count() == 4, "four console rows")
        rows = [clist.row(r, 120)[0].plain for r in range(4)]
        assert [r.split()[3].rstrip(":") for r in rows] == ["first", "second", "third", "fourth"]
        assert rows[0].split()[2] == "c1" and rows[1].split()[2] == "c2"  # the connection, not the session
        assert not any("session_cda2" in r for r in rows)
        await pilot.press("home")  # "first", logged on c1, in the batch that came last
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConsoleLogsScreen), "back to the stream")
        assert app.stream.selected_index == at["c1"]
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleLogsScreen), "the console screen again")
        clist = app.screen.query_one(ConsoleList)
        await wait_for(pilot, lambda: clist.row_count() == 4, "four console rows")
        clist.move_cursor(1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConsoleLogsScreen), "back to the stream")
        assert app.stream.selected_index == at["c2"]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_snapshot_console_logs(snap_compare: Any, size: tuple[int, int]) -> None:
    """You should see the console logs view: messages in time order with INFO/WARN/ERROR/DEBUG/LOG
    in their colours, the connection (c1) on each row, and the error's stack trace
    (PartnerRow.tsx:42:17) below with 'connection c1 · session sess-7f3a'."""
    store = EventStore()
    fill(store)
    name = f"console-logs-{size[0]}x{size[1]}"
    run = shot(name, lambda s: len(s) - 1, "l", "up", "up")
    assert snap_compare(app_over(store), terminal_size=size, run_before=run)
