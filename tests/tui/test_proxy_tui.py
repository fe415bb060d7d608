"""The TUI on a proxy session: the live view of every frontend's traffic."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tui_helpers import wait_for
from websockets.asyncio.client import connect

from busconsole.server.runner import ServerThread
from busconsole.sessions.proxy import ProxySession
from busconsole.tui.app import BusConsoleApp

pytestmark = pytest.mark.timeout(60)


async def test_app_shows_both_frontends_and_refuses_to_send(server: ServerThread, tmp_path: Path) -> None:
    session = ProxySession(server.url, port=0, record=tmp_path / "tui.jsonl")
    app = BusConsoleApp(session, filter_text="conn:c2")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: session.status.phase == "proxy", "the proxy to listen")
        url = f"ws://127.0.0.1:{session.tap.port}/store-debug"
        async with connect(url) as a, connect(url) as b:
            for ws in (a, b):
                await asyncio.wait_for(ws.recv(), 10)
            await wait_for(pilot, lambda: set(app.store.values("conn")) == {"c1", "c2"}, "both connections")
        assert not session.can_send
        assert app.store.values("type").get("PROXY_OPEN") == 2
    assert session.status.phase == "closed"  # the app stopped the session on exit
