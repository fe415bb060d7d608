"""Every modal looks the same: centred, bordered, over the dimmed app, and inside 80x24.

Each dialog is opened in the real app (its stylesheet included) at 80x24 and at 160x45,
then measured: the box's margins left and right (top and bottom) differ by at most one
cell, it has a border, it fits the terminal, and the screen beneath shows through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widget import Widget
from tui_helpers import freeze_tz
from tui_sample import fill

from busconsole.compose.history import History
from busconsole.compose.templates import Templates
from busconsole.sessions.base import StoreSession
from busconsole.store import EventStore
from busconsole.tui.app import BusConsoleApp
from busconsole.tui.screens.composer import ComposerScreen
from busconsole.tui.screens.replay_jump import JumpScreen
from busconsole.tui.widgets.composer_dialogs import ConfirmSend


@pytest.fixture(autouse=True)
def _utc() -> None:
    freeze_tz()


def sample_app() -> BusConsoleApp:
    store = EventStore()
    fill(store)
    return BusConsoleApp(StoreSession(store, "ws://127.0.0.1:3013/store-debug", phase="connected"))


def _composer(app: BusConsoleApp, tmp: Any) -> ComposerScreen:
    return ComposerScreen(app.session, history=History(tmp / "history.jsonl"), templates=Templates(tmp / "t.toml"))


OPENERS: dict[str, tuple[Callable[[BusConsoleApp, Any], Any] | None, tuple[str, ...]]] = {
    "delete-confirm": (lambda app, tmp: ConfirmSend("DELETE of partner id 3. Send anyway?"), ()),
    "history": (_composer, ("ctrl+r",)),
    "templates": (_composer, ("ctrl+t",)),
    "save-template": (_composer, ("f2",)),
    "entity-picker": (None, ("p",)),
    "replay-jump": (lambda app, tmp: JumpScreen(0.0, 0.0), ()),
}


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
@pytest.mark.parametrize("name", list(OPENERS))
async def test_every_modal_is_centred_bordered_and_fits(name: str, size: tuple[int, int], tmp_path: Any) -> None:
    app = sample_app()
    opener, keys = OPENERS[name]
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        if opener is not None:
            await app.push_screen(opener(app, tmp_path))
            await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.1)
        screen = app.screen
        boxes = list(screen.query(".modal-box"))
        assert boxes, f"{name}: {type(screen).__name__} has no .modal-box"
        box: Widget = boxes[0]
        r = box.region
        width, height = size
        assert r.x >= 0 and r.y >= 0 and r.right <= width and r.bottom <= height, f"{name}: {r} outside {size}"
        assert abs(r.x - (width - r.right)) <= 1, f"{name}: not centred across: {r} in {size}"
        assert abs(r.y - (height - r.bottom)) <= 1, f"{name}: not centred down: {r} in {size}"
        assert r.width < width and r.height < height, f"{name}: covers the whole screen"
        assert box.styles.border_top[0] not in ("", "none", "hidden"), f"{name}: no border"
        assert screen.styles.background.a < 1, f"{name}: the app beneath is painted over"
