"""The app `busconsole demo` opens, on the demo session, driven by keys as a new user would."""

from __future__ import annotations

import pytest
from textual.widgets._toast import Toast
from tui_helpers import wait_for

from busconsole.commands.demo import WELCOME, demo_app
from busconsole.server.runner import ServerThread
from busconsole.server.simulate import Pace
from busconsole.sessions.demo import DemoSession
from busconsole.tui.screens.composer import ComposerScreen
from busconsole.tui.screens.console_logs import ConsoleList, ConsoleLogsScreen

pytestmark = pytest.mark.timeout(60)
FAST = Pace(think=(0.02, 0.08), log_every=0.2, batch=5)


async def test_stream_fills_console_view_has_messages_and_composer_opens(server: ServerThread) -> None:
    session = DemoSession(server.url, frontends=2, subscribe=("compute",), pace=FAST, seed=2)
    app = demo_app(session)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(Toast)), "the welcome toast")
        assert "c1 is you" in str(app.screen.query_one(Toast).render()) and "c1 is you" in WELCOME
        await wait_for(pilot, lambda: len(app.stream.rows) >= 30 and len(app.store.console) > 0,
                     "the stream to fill and console messages to arrive")
        assert {"c1", "c2", "c3"} <= set(app.store.values("conn"))

        await pilot.press("l")
        assert isinstance(app.screen, ConsoleLogsScreen)
        console_list = app.screen.query_one(ConsoleList)
        await wait_for(pilot, lambda: console_list.row_count() > 0, "console rows")
        assert {e.level for e in console_list.entries} & {"log", "info", "warn", "error"}
        await pilot.press("escape")
        assert not isinstance(app.screen, ConsoleLogsScreen)

        await pilot.press("c")
        assert isinstance(app.screen, ComposerScreen)  # the demo can send, unlike a bare proxy
        await pilot.press("escape")
    assert session.status.phase == "closed"  # the app stopped the session on exit
    assert session.proxy.tap.connections == {}
