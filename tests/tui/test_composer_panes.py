"""The composer's panes without a server: the README's QUERY, Tab, and a reply pane that scrolls.

A session that answers each request at once with a canned reply stands in for the server,
so the reply pane can be filled with a long QUERY_RESULT at fixed times.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from textual import events
from textual.app import App
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TextArea
from tui_helpers import freeze_tz, static_text, wait_for

from busconsole.commands.send import build_request
from busconsole.compose.draft import Draft, validate
from busconsole.compose.history import History
from busconsole.compose.templates import Templates
from busconsole.frames import CapturedFrame
from busconsole.sessions.base import StoreSession
from busconsole.store import EventStore
from busconsole.tui.screens.composer import ComposerScreen
from busconsole.tui.theme import BUSCONSOLE_THEME

T0 = 1_758_332_020_000.0
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
README_QUERY = '{"criteria": {"name": "telcobright"}}'
ROWS = [{"id": n, "name": f"partner {n}", "status": "ACTIVE"} for n in range(1, 41)]


@pytest.fixture(autouse=True)
def _utc() -> None:
    freeze_tz()


class AnsweringSession(StoreSession):
    """Sends into its own store and answers every QUERY with all of ROWS, 42 ms later."""

    def __init__(self) -> None:
        super().__init__(EventStore(), "ws://127.0.0.1:3013/store-debug", phase="connected")
        self.read_only = False
        self.sent: list[dict[str, Any]] = []
        self.t = T0

    @property
    def can_send(self) -> bool:
        return True

    async def send(self, frame: dict[str, Any]) -> None:
        self.sent.append(frame)
        self.t += 1000
        self.store.append(CapturedFrame(len(self.store) + 1, self.t, "out", "c1", orjson.dumps(frame)))
        reply = {"type": "QUERY_RESULT", "entity": frame.get("entity"), "requestId": frame.get("requestId"),
                 "data": {"entity": frame.get("entity"), "data": ROWS, "meta": {"total": len(ROWS)}}}
        self.store.append(CapturedFrame(len(self.store) + 1, self.t + 42, "in", "c1", orjson.dumps(reply)))


class Host(App[None]):
    def __init__(self, screen: ComposerScreen) -> None:
        super().__init__()
        self.composer = screen

    async def on_mount(self) -> None:
        self.register_theme(BUSCONSOLE_THEME)
        self.theme = BUSCONSOLE_THEME.name
        await self.push_screen(self.composer)


def make(tmp: Path, session: AnsweringSession | None = None) -> tuple[Host, ComposerScreen, AnsweringSession]:
    session = session or AnsweringSession()
    screen = ComposerScreen(session, history=History(tmp / "history.jsonl"), templates=Templates(tmp / "t.toml"))
    return Host(screen), screen, session


async def fill(pilot: Pilot[Any], screen: ComposerScreen, entity: str, payload: str) -> None:
    screen.query_one("#composer-type", Select).value = "QUERY"
    screen.query_one("#composer-entity", Input).value = entity
    screen.query_one("#composer-payload", TextArea).load_text(payload)
    await pilot.pause()


def test_the_readme_query_is_valid_in_both_and_builds_the_same_payload() -> None:
    """kind defaults to the entity in the composer's rules as in ``busconsole send``."""
    assert validate("QUERY", "partner", "", README_QUERY).ok
    built = Draft("QUERY", "partner", "", README_QUERY).build()
    sent = build_request("QUERY", "partner", None, orjson.loads(README_QUERY))
    expected = {"kind": "partner", "criteria": {"name": "telcobright"}}
    assert built["payload"] == sent["payload"] == built["query"] == expected
    typed = Draft("QUERY", "partner", "", '{"kind": "company"}').build()  # a typed kind wins
    assert typed["payload"]["kind"] == "company"


async def test_the_readme_query_is_sent_from_the_composer(tmp_path: Path) -> None:
    app, screen, session = make(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await fill(pilot, screen, "partner", README_QUERY)
        issues = static_text(screen.query_one("#composer-issues", Static))
        assert "✓ valid QUERY" in issues and "required" not in issues
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
        assert session.sent[0]["payload"] == {"kind": "partner", "criteria": {"name": "telcobright"}}


async def test_tab_right_after_the_entity_moves_focus_and_what_follows_goes_there(tmp_path: Path) -> None:
    """Keys queued behind Tab (a fast typist, a paste) land in the field Tab went to."""
    app, screen, _ = make(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.focused is screen.query_one("#composer-entity")
        for ch in "partner":
            app.post_message(events.Key(ch, ch))
        app.post_message(events.Key("tab", "\t"))
        for ch in "{}":
            app.post_message(events.Key(ch, ch))
        await pilot.pause(0.3)
        assert screen.query_one("#composer-entity", Input).value == "partner"
        payload = screen.query_one("#composer-payload", TextArea)
        assert app.focused is payload and payload.text.startswith("{")
        await pilot.press("tab")  # the payload passes Tab on too
        assert app.focused is not payload


async def test_the_reply_pane_scrolls_grows_with_a_reply_and_resizes(tmp_path: Path) -> None:
    app, screen, _ = make(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        pane = screen.query_one("#composer-reply-pane", VerticalScroll)
        editor = screen.query_one("#composer-payload", TextArea)
        empty_height = pane.region.height
        assert editor.region.height > empty_height  # nothing sent: the editor has the room
        await fill(pilot, screen, "partner", README_QUERY)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
        await pilot.pause()
        assert pane.region.height > editor.region.height > 3  # a reply takes the room
        shown = static_text(screen.query_one("#composer-reply", Static))
        assert '"name": "partner 40"' in shown and "more lines" not in shown  # the whole reply
        assert pane.max_scroll_y > 0
        for _ in range(8):  # Tab reaches the reply pane, which then scrolls by key
            if app.focused is pane:
                break
            await pilot.press("tab")
        assert app.focused is pane
        await pilot.press("end")
        await pilot.pause()
        assert pane.scroll_y == pane.max_scroll_y > 0
        before = pane.region.height
        await pilot.press("alt+down")
        await pilot.pause()
        assert pane.region.height < before
        await pilot.press("ctrl+o")
        await pilot.pause()
        zoomed = pane.region.height
        assert zoomed > before and editor.region.height >= 4
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert pane.region.height < zoomed


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_snapshot_composer_with_a_long_reply(snap_compare: Any, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path, size: tuple[int, int]) -> None:
    """You should see the composer over an empty app: QUERY partner with the README's criteria,
    '✓ valid QUERY', and below a reply pane taller than the editor: '← QUERY_RESULT 42.0 ms', the
    summary line and the start of the pretty-printed rows, with a scrollbar (it scrolls)."""
    for where in ("busconsole.tui.screens.composer", "busconsole.compose.draft"):
        monkeypatch.setattr(f"{where}.new_request_id", lambda *_: "req_1758644165111_0a1b2c3d")
    app, screen, _ = make(tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await fill(pilot, screen, "partner", README_QUERY)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
        screen.query_one("#composer-type").focus()  # no blinking cursor in the picture
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)  # the footer recomposes after a change of focus
        name = "composer-reply" if size == (160, 45) else "composer-reply-80x24"
        app.save_screenshot(filename=f"{name}.svg", path=str(SHOTS))

    assert snap_compare(app, terminal_size=size, run_before=run_before)
