"""Helpers shared by the pane tests: the real app over a store, and snapshots that also
save their picture to screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input
from tui_helpers import wait_for

from busconsole.sessions.base import StoreSession
from busconsole.store import EventStore
from busconsole.tui.app import BusConsoleApp

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
SIZES = [(80, 24), (160, 45)]


def app_over(store: EventStore) -> BusConsoleApp:
    return BusConsoleApp(StoreSession(store, "ws://127.0.0.1:3013/store-debug", phase="connected"))


def shot(name: str, index_of: Any, *keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await pilot.pause()
        for field in app.query(Input):
            field.cursor_blink = False
        await wait_for(pilot, lambda: app.stream.jump_to_index(index_of(app.store)), "the frame")
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        app.save_screenshot(filename=f"{name}.svg", path=str(SHOTS))

    return run_before
