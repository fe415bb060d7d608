"""The composer against the real reference server: send, see the reply, refuse, recall, resend.

The screen is hosted by a minimal app around a real LiveSession (and, at the end,
driven through the real BusConsoleApp with ``c`` and ``e``). Whether something was
*not* sent is checked on the server side: after a refused attempt a valid frame is
sent, and it must be the very next frame the server received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TextArea
from tui_helpers import wait_for

from busconsole.compose.history import History
from busconsole.compose.templates import Templates
from busconsole.server.runner import ServerThread
from busconsole.sessions.live import LiveSession
from busconsole.tui.screens.composer import ComposerScreen
from busconsole.tui.theme import BUSCONSOLE_THEME
from busconsole.tui.widgets.composer_dialogs import ConfirmSend, NamePrompt, Picker

SIZE = (120, 40)


class Host(App[None]):
    """Just enough app to show a screen, in the console's own theme; the session is the real thing."""

    TITLE = "busconsole — compose"

    def __init__(self, session: LiveSession) -> None:
        super().__init__()
        self.session = session

    def on_mount(self) -> None:
        self.register_theme(BUSCONSOLE_THEME)
        self.theme = BUSCONSOLE_THEME.name


@asynccontextmanager
async def composer(
    server: ServerThread, initial: dict[str, Any] | None = None, **session_kw: Any
) -> AsyncIterator[tuple[Pilot[Any], ComposerScreen, LiveSession]]:
    session = LiveSession(server.url, record=False, **session_kw)
    app = Host(session)
    async with app.run_test(size=SIZE) as pilot:
        await session.start()
        try:
            await wait_for(pilot, lambda: session.status.phase == "connected", "connection")
            screen = ComposerScreen(session, initial)
            await app.push_screen(screen)
            await pilot.pause()
            yield pilot, screen, session
        finally:
            await session.stop()


async def fill(pilot: Pilot[Any], screen: ComposerScreen, kind: str, entity: str = "",
               operation: str = "", payload: str = "") -> None:
    screen.query_one("#composer-type", Select).value = kind
    screen.query_one("#composer-entity", Input).value = entity
    screen.query_one("#composer-operation", Input).value = operation
    screen.query_one("#composer-payload", TextArea).load_text(payload)
    await pilot.pause()


def text_of(screen: ComposerScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def frames_received(server: ServerThread) -> list[dict[str, Any]]:
    return [json.loads(f) for f in server.received]


def requests(server: ServerThread) -> list[dict[str, Any]]:
    """What the server got, minus the client's own SUBSCRIBEs on connect."""
    return [f for f in frames_received(server) if f.get("type") != "SUBSCRIBE"]


async def send_probe(pilot: Pilot[Any], screen: ComposerScreen, server: ServerThread) -> dict[str, Any]:
    """Send a valid QUERY and return the next frame the server received after the current ones."""
    before = len(server.received)
    await fill(pilot, screen, "QUERY", "cloud", payload='{"kind": "cloud", "page": {"limit": 1}}')
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: len(server.received) > before, "the probe to reach the server")
    return json.loads(server.received[before])


async def test_query_is_sent_and_its_reply_shown_with_latency(server: ServerThread) -> None:
    async with composer(server) as (pilot, screen, session):
        await fill(pilot, screen, "QUERY", "partner",
                   payload='{"kind": "partner", "criteria": {"country": "UK"}, "page": {"limit": 5, "offset": 0}}')
        rid = screen.draft.request_id
        assert rid and rid in str(screen.query_one("#composer-ids").render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
        assert screen.reply is not None and screen.reply.state == "replied"
        assert screen.reply.reply_type == "QUERY_RESULT"
        assert screen.reply.latency is not None and screen.reply.latency >= 0
        shown = text_of(screen, "#composer-reply")
        assert "← QUERY_RESULT" in shown and f"{screen.reply.latency:.1f} ms" in shown and rid in shown
        # the pair is in the store the stream draws from
        pair = session.store.pairing.pair_of(screen.reply.request_index)
        assert pair is not None and session.store.frame(pair.reply).type == "QUERY_RESULT"
        sent = [f for f in requests(server) if f.get("requestId") == rid]
        assert len(sent) == 1 and sent[0]["payload"]["criteria"] == {"country": "UK"}
        assert screen.draft.request_id != rid  # the next send is a new request


async def test_invalid_json_shows_line_and_column_and_sends_nothing(server: ServerThread) -> None:
    async with composer(server) as (pilot, screen, _):
        await fill(pilot, screen, "QUERY", "partner", payload='{\n  "kind": "partner"\n')
        area = screen.query_one("#composer-payload", TextArea)
        area.focus()
        area.move_cursor((1, 19))
        await pilot.press("comma")  # typing keeps it invalid, and re-validates
        issues = text_of(screen, "#composer-issues")
        assert "✗ line 3, column 1: invalid JSON" in issues, issues
        before = len(server.received)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "not sent: line 3, column 1: invalid JSON" in text_of(screen, "#composer-reply")
        assert screen.last_sent is None
        probe = await send_probe(pilot, screen, server)
        assert probe["entity"] == "cloud" and len(server.received) == before + 1


async def test_structural_error_is_refused_with_the_field(server: ServerThread) -> None:
    async with composer(server) as (pilot, screen, _):
        await fill(pilot, screen, "QUERY", "partner", payload='{"kind": "partner", "page": {"limit": -5}}')
        assert "payload.page.limit" in text_of(screen, "#composer-issues")
        before = len(server.received)
        await pilot.press("ctrl+s")
        probe = await send_probe(pilot, screen, server)
        assert probe["entity"] == "cloud" and len(server.received) == before + 1


async def test_mutation_update_changes_the_row_and_a_subscriber_sees_store_update(server: ServerThread) -> None:
    watcher = LiveSession(server.url, record=False, subscribe=["compute"])
    async with composer(server) as (pilot, screen, _):
        await watcher.start()
        try:
            await wait_for(pilot, lambda: watcher.store.positions("type", "SUBSCRIPTION_DATA"), "the subscription")
            assert server.store.get("compute", 3)["status"] != "MAINTENANCE"
            await fill(pilot, screen, "MUTATION", "compute", "UPDATE",
                       '{"id": 3, "status": "MAINTENANCE", "note": "sent at {{iso}}"}')
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
            assert screen.reply is not None and screen.reply.reply_type == "MUTATION_SUCCESS"
            row = server.store.get("compute", 3)
            assert row["status"] == "MAINTENANCE" and "{{" not in row["note"]
            await wait_for(pilot, lambda: watcher.store.positions("type", "STORE_UPDATE"), "STORE_UPDATE")
            update = watcher.store.frame(watcher.store.positions("type", "STORE_UPDATE")[-1]).obj
            assert update is not None and update["entity"] == "compute"
            assert watcher.subscriptions["compute"] >= 1
        finally:
            await watcher.stop()


async def test_read_only_refuses_a_mutation_and_nothing_reaches_the_server(server: ServerThread) -> None:
    async with composer(server, read_only=True) as (pilot, screen, _):
        assert "read-only" in str(screen.query_one("#composer").border_title)
        await fill(pilot, screen, "MUTATION", "compute", "UPDATE", '{"id": 2, "status": "INACTIVE"}')
        assert "read-only session" in text_of(screen, "#composer-issues")
        before = len(server.received)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "not sent: read-only" in text_of(screen, "#composer-reply")
        probe = await send_probe(pilot, screen, server)
        assert probe["type"] == "QUERY" and len(server.received) == before + 1
        assert server.store.get("compute", 2)["status"] != "INACTIVE"


async def test_delete_asks_first_and_cancel_sends_nothing(server: ServerThread) -> None:
    async with composer(server) as (pilot, screen, _):
        await fill(pilot, screen, "MUTATION", "compute", "DELETE", '{"id": 4}')
        before = len(server.received)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmSend), "the confirmation")
        assert "DELETE of compute id 4" in str(pilot.app.screen.query_one("#confirm-prompt").render())
        await pilot.press("n")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the composer again")
        assert "cancelled" in text_of(screen, "#composer-reply")
        assert len(server.received) == before
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmSend), "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
        assert server.store.get("compute", 4) is None


async def test_history_recall_and_search(server: ServerThread) -> None:
    async with composer(server) as (pilot, screen, _):
        for entity in ("partner", "cloud", "datacenter"):
            await fill(pilot, screen, "QUERY", entity, payload=f'{{"kind": "{entity}"}}')
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
        assert [e.frame["entity"] for e in History().entries] == ["partner", "cloud", "datacenter"]
        await fill(pilot, screen, "QUERY", "region", payload="")  # the draft being typed
        entity = screen.query_one("#composer-entity", Input)
        entity.focus()
        seen = []
        for key in ("up", "up", "ctrl+up", "ctrl+up", "down", "ctrl+down", "down"):
            await pilot.press(key)
            await pilot.pause()
            seen.append(entity.value)
        assert seen == ["datacenter", "cloud", "partner", "partner", "cloud", "datacenter", "region"]
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, Picker), "the history list")
        await pilot.press(*"partn", "enter")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the composer again")
        await pilot.pause()
        assert entity.value == "partner"
        recalled = screen.draft.request_id
        assert recalled and recalled not in {e.frame["requestId"] for e in History().entries}


async def test_edit_and_resend_gets_a_new_request_id(server: ServerThread) -> None:
    old = {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "requestId": "req_1_old",
           "timestamp": 1, "payload": {"id": 6, "status": "INACTIVE"}, "metadata": {"source": "replayed"}}
    async with composer(server, initial=old) as (pilot, screen, _):
        assert screen.query_one("#composer-operation", Input).value == "UPDATE"
        assert json.loads(screen.query_one("#composer-payload", TextArea).text) == old["payload"]
        rid = screen.draft.request_id
        assert rid and rid != "req_1_old"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
        (sent,) = [f for f in requests(server) if f.get("type") == "MUTATION"]
        assert sent["requestId"] == rid and sent["timestamp"] > 1
        assert sent["payload"] == old["payload"] and sent["metadata"] == {"source": "replayed"}
        assert server.store.get("compute", 6)["status"] == "INACTIVE"


async def test_templates_load_and_save(server: ServerThread) -> None:
    async with composer(server) as (pilot, screen, _):
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, Picker), "the template list")
        await pilot.press(*"update-compute", "enter")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the composer again")
        await pilot.pause()
        assert (screen.draft.kind, screen.draft.entity, screen.draft.operation) == ("MUTATION", "compute", "UPDATE")
        await fill(pilot, screen, "QUERY", "region", payload='{"kind": "region", "criteria": {"code": "{{uuid}}"}}')
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, NamePrompt), "the name prompt")
        await pilot.press(*"my-regions", "enter")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the composer again")
        saved = Templates().get("my-regions")
        assert (saved.type, saved.entity, saved.origin) == ("QUERY", "region", "user")
        assert "{{uuid}}" in saved.payload_text


async def test_entity_completion_offers_entities_seen_on_the_bus(server: ServerThread) -> None:
    async with composer(server, subscribe=["availabilityzone"]) as (pilot, screen, session):
        await wait_for(pilot, lambda: "availabilityzone" in session.store.values("entity"), "an entity on the bus")
        entity = screen.query_one("#composer-entity", Input)
        entity.value = ""
        entity.focus()
        await pilot.press(*"avail")
        await wait_for(pilot, lambda: entity._suggestion == "availabilityzone", "the suggestion")
        await pilot.press("right")
        assert entity.value == "availabilityzone"


async def test_in_the_real_app_c_composes_and_e_resends_with_a_new_id(server: ServerThread) -> None:
    from busconsole.tui.app import BusConsoleApp

    session = LiveSession(server.url, record=False)
    app = BusConsoleApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: session.status.phase == "connected", "connection")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen), "the composer")
        screen = app.screen
        assert isinstance(screen, ComposerScreen)
        await fill(pilot, screen, "QUERY", "partner", payload='{"kind": "partner", "page": {"limit": 2}}')
        first = screen.draft.request_id
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.reply is not None and screen.reply.done, "the reply")
        assert screen.reply is not None and screen.reply.reply_type == "QUERY_RESULT"
        request_index = screen.reply.request_index
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposerScreen), "the stream")
        await wait_for(pilot, lambda: app.stream.jump_to_index(request_index), "the request row in the stream")
        assert session.store.pairing.pair_of(request_index) is not None
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen), "the composer on the frame")
        again = app.screen
        assert isinstance(again, ComposerScreen)
        second = again.draft.request_id
        assert again.draft.entity == "partner" and second not in (None, first)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: again.reply is not None and again.reply.done, "the second reply")
        ids = [f["requestId"] for f in requests(server) if f.get("type") == "QUERY"]
        assert ids == [first, second]


def test_snapshot_composer_with_a_validation_error(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """You should see the composer over an empty app: type QUERY, entity partner, a payload
    whose third line lacks a closing brace, and under it a red error naming line and column."""
    for where in ("busconsole.tui.screens.composer", "busconsole.compose.draft"):
        monkeypatch.setattr(f"{where}.new_request_id", lambda *_: "req_1758644165111_0a1b2c3d")
    session = LiveSession("ws://127.0.0.1:9/store-debug", record=False)
    payload = '{\n  "kind": "partner",\n  "page": {"limit": 20, "offset": -1}\n  "sort": {"field": "name"}\n}'
    initial = {"type": "QUERY", "entity": "partner", "payload": {"kind": "partner"}}

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        screen = ComposerScreen(session, initial)
        await app.push_screen(screen)
        await pilot.pause()
        screen.query_one("#composer-payload", TextArea).load_text(payload)
        await pilot.pause()
        await pilot.press("ctrl+s")
        screen.query_one("#composer-type").focus()  # no blinking cursor in the picture
        await pilot.pause()
        app.save_screenshot("composer-error.svg", str(Path(__file__).resolve().parents[2] / "screenshots"))

    assert snap_compare(Host(session), terminal_size=SIZE, run_before=run_before)


async def test_a_real_server_is_not_offered_the_demo_entities(server: ServerThread) -> None:
    """Connected to a server, the entity completion offers what the bus showed (here: what we
    subscribed to), never the reference server's demo list."""
    from busconsole.server.seed import KINDS

    async with composer(server, subscribe=("partner",)) as (pilot, screen, session):
        await wait_for(pilot, lambda: "partner" in session.store.values("entity"), "partner on the bus")
        offered = screen._entities()
        named = {t.entity for t in screen.templates.all().values() if t.entity}  # the shipped templates'
        assert "partner" in offered and set(offered) & set(KINDS) <= {"partner"} | named
        assert "networkdevice" not in offered and "networkdevice" not in named
