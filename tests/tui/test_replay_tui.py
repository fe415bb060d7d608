"""The replay app over the real fixtures and over recordings made from the reference server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import fixture_total
from tui_helpers import freeze_tz, static_text, wait_for

from busconsole.frames import CapturedFrame
from busconsole.protocol import build_console_logs, build_mutation, build_query
from busconsole.recording.writer import RecordingWriter
from busconsole.sessions.base import ReadOnlyError
from busconsole.sessions.file import PLAYBACK, FileSession
from busconsole.tui.replay import ReplayApp
from busconsole.tui.screens.composer import ComposerScreen
from busconsole.tui.screens.replay_jump import JumpScreen
from busconsole.tui.widgets.timeline import Timeline, timeline_text

SIZE = (140, 40)
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def selected_facts(app: ReplayApp) -> Any:
    index = app.stream.selected_index
    assert index is not None
    return app.store.facts(index)


def timeline_plain(app: ReplayApp) -> str:
    tl = app.query_one(Timeline)
    assert tl.model is not None
    return timeline_text(tl.model, frozenset(), 140).plain


def state_of(store: Any) -> dict[str, Any]:
    return {
        "frames": len(store),
        "state": {e: json.dumps(store.state.current(e), sort_keys=True) for e in store.state.entities()},
        "pending": [(p.index, p.type) for p in store.pairing.pending(now=0)],
        "console": store.console.count_by_level(),
        "errors": list(store.error_positions()),
    }


async def record_from_server(server: Any, path: Path) -> int:
    """A real session with the reference server: subscribe, queries, a mutation that works, one
    that fails, console logs with an error. Returns how many frames were recorded."""
    from busconsole.transport.client import BusClient

    with RecordingWriter(path, server.url) as writer:
        client = BusClient(server.url, subscribe=["compute"], on_frame=writer.write)
        runner = asyncio.create_task(client.run())
        try:
            await client.wait_connected(10)
            await client.request(build_query("partner", {"kind": "partner", "page": {"limit": 3}}), 10)
            await client.request(build_query("compute", {"kind": "compute", "page": {"limit": 2}}), 10)
            await client.request(build_mutation("compute", "UPDATE", {"id": 999_999, "status": "ACTIVE"}), 10)
            await client.request(build_mutation("compute", "UPDATE", {"id": 1, "status": "MAINTENANCE"}), 10)
            await client.request(build_console_logs([{"level": "error", "message": "boom"},
                                                     {"level": "info", "message": "fine"}]), 10)
            await client.request(build_query("partner", {"kind": "partner", "page": {"limit": 1}}), 10)
            await asyncio.sleep(0.3)  # the STORE_UPDATE broadcast after the mutation
        finally:
            await client.close()
            await runner
        return writer.frames


async def loaded(pilot: Any, app: ReplayApp) -> None:
    await wait_for(pilot, lambda: app.file.loaded and len(app.stream.rows) == len(app.file.browse), "the file to load")


async def test_fixtures_directory_browse_filter_and_errors(fixtures_dir: Path) -> None:
    total = fixture_total(fixtures_dir)
    app = ReplayApp(FileSession([fixtures_dir]))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        assert len(app.stream.rows) == total
        assert app.stream.selected_index == 0  # a file opens at its start
        assert "BROWSE" in timeline_plain(app) and f"frame 1 / {total}" in timeline_plain(app)
        with_errors = list(app.store.positions("level", "error"))
        await pilot.press("slash", *"level:error", "enter")
        await wait_for(pilot, lambda: list(app.stream.rows.index(r) for r in range(len(app.stream.rows)))
                       == with_errors, "only frames with error console messages")
        await pilot.press("slash", "ctrl+u", "enter")
        await wait_for(pilot, lambda: len(app.stream.rows) == total, "the filter to be cleared")
        errors = list(app.store.error_positions())
        await pilot.press("g")  # browse mode: g is the stream's "first row"
        assert app.stream.selected_index == 0 and app.file.mode != PLAYBACK
        await pilot.press("n")
        assert app.stream.selected_index == errors[0] and selected_facts(app).error
        await pilot.press("n")
        assert app.stream.selected_index == errors[1]
        await pilot.press("N")
        assert app.stream.selected_index == errors[0]


async def test_playback_at_max_speed_reaches_the_end_in_the_browse_state(server: Any, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    recorded = await record_from_server(server, path)
    app = ReplayApp(FileSession([path]))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        assert len(app.file.browse) == recorded
        assert app.file.browse.values("type").get("ERROR") == 1
        await pilot.press("space")
        assert app.file.mode == PLAYBACK and app.store is app.file.playback
        for _ in range(12):
            await pilot.press("plus")
        assert app.file.clock.speed_label == "max"
        await wait_for(pilot, lambda: app.file.clock.at_end and len(app.store) == recorded, "playback to end")
        assert state_of(app.file.playback) == state_of(app.file.browse)
        assert len(app.stream.rows) == recorded
        await pilot.press("g")  # back to the start: an empty session
        await wait_for(pilot, lambda: len(app.store) == 0, "the rewind")
        await pilot.press("full_stop", "full_stop", "full_stop")
        await wait_for(pilot, lambda: len(app.store) == 3, "three frames revealed")
        assert app.stream.selected_index == 2 and "PAUSED" in timeline_plain(app)
        await pilot.press("n")  # the next error anywhere in the file: the clock moves there
        error = app.file.browse.error_positions()[0]
        await wait_for(pilot, lambda: app.stream.selected_index == error, "the first error selected")
        assert selected_facts(app).error  # a failed request: the clock went on to its ERROR reply
        assert app.file.clock.position == app.store.pairing.pair_of(error).reply + 1
        await pilot.press("b")
        assert app.store is app.file.browse and app.stream.selected_index == error


async def test_jump_to_a_time_and_back_to_browse(server: Any, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    await record_from_server(server, path)
    app = ReplayApp(FileSession([path]))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("full_stop")  # playback, one frame revealed
        await pilot.press("colon")
        assert isinstance(app.screen, JumpScreen)
        await pilot.press(*"nonsense", "enter")
        assert "cannot read" in static_text(app.screen.query_one("#jump-error"))
        await pilot.press(*["backspace"] * 8, *"+10m", "enter")
        await wait_for(pilot, lambda: app.file.clock.at_end, "the jump to the end")
        assert len(app.store) == len(app.file.browse)


async def test_follow_mode_picks_up_appended_frames(tmp_path: Path) -> None:
    path = tmp_path / "growing.jsonl"
    with RecordingWriter(path, "ws://127.0.0.1:3013/store-debug") as writer:
        def add(seq: int) -> None:
            obj = {"type": "QUERY", "entity": "partner", "requestId": f"r{seq}", "timestamp": 1000 + seq}
            writer.write(CapturedFrame(seq, 1000.0 + seq, "out", "c1", orjson.dumps(obj)))

        for seq in range(1, 4):
            add(seq)
        app = ReplayApp(FileSession([path], follow=True))
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            assert len(app.stream.rows) == 3
            for seq in range(4, 9):
                add(seq)
            await wait_for(pilot, lambda: len(app.stream.rows) == 8, "the appended frames")
            assert app.stream.selected_index == 7  # following keeps the newest in view
            assert "following" in timeline_plain(app)


async def test_edit_and_resend_goes_to_the_to_server_and_read_only_refuses_mutations(
    server: Any, tmp_path: Path
) -> None:
    path = tmp_path / "session.jsonl"
    await record_from_server(server, path)
    session = FileSession([path], to=server.url, read_only=True)
    app = ReplayApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: session.can_send, "the connection to --to")
        query = app.store.positions("type", "QUERY")[0]
        assert app.stream.jump_to_index(query)
        await pilot.press("e")
        assert isinstance(app.screen, ComposerScreen) and app.screen.session is session.live
        before = len(server.received)
        await session.send(build_query("partner", {"kind": "partner"}))
        await wait_for(pilot, lambda: len(server.received) > before, "the query at the server")
        with pytest.raises(ReadOnlyError):
            await session.send(build_mutation("compute", "DELETE", {"id": 1}))


async def test_without_to_edit_and_resend_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with RecordingWriter(path, "ws://127.0.0.1:3013/store-debug") as writer:
        writer.write(CapturedFrame(1, 1000.0, "out", "c1", b'{"type":"QUERY","entity":"partner","timestamp":1000}'))
    app = ReplayApp(FileSession([path]))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("e")
        assert not isinstance(app.screen, ComposerScreen)


def test_snapshot_replay_playback_with_timeline(snap_compare: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """You should see the stream up to the first ERROR (selected), and under it the timeline:
    the played part of the bar, the marker, red ticks where errors happened, and
    "⏸ PAUSED  1x" with the clock time and "frame 13 / 18"."""
    from tui_sample import fill

    from busconsole.store import EventStore

    freeze_tz()
    monkeypatch.setattr("busconsole.tui.widgets.status.RateMeter.sample", lambda *_a, **_k: None)  # wall-clock rates
    store = EventStore()
    fill(store)
    path = tmp_path / "session.jsonl"
    with RecordingWriter(path, "ws://127.0.0.1:3013/store-debug") as writer:
        for i in range(len(store)):
            writer.write(store.frame(i))

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await loaded(pilot, app)
        await pilot.press("n")  # browse: the first error
        await pilot.press("full_stop")  # playback
        await pilot.press("n")  # playback: the clock moves to the first error
        await wait_for(pilot, lambda: app.stream.selected_index == app.file.browse.error_positions()[0], "the error")
        await pilot.pause(0.3)
        SHOTS.mkdir(exist_ok=True)
        app.save_screenshot(filename="replay.svg", path=str(SHOTS))

    assert snap_compare(ReplayApp(FileSession([path])), terminal_size=SIZE, run_before=run_before)


async def test_a_session_over_several_days_shows_the_date_where_it_changes(tmp_path: Path) -> None:
    """Four days of rows never read as one: the first row and the first row of each new day
    show the date in the time column."""
    freeze_tz()
    path = tmp_path / "days.jsonl"
    day = 86_400_000.0
    t0 = 1_758_300_000_000.0  # 2025-09-19 16:40 UTC
    with RecordingWriter(path, "ws://127.0.0.1/days") as w:
        w.write_many([CapturedFrame(i + 1, t0 + (i // 2) * day + (i % 2) * 1000, "in", "c1",
                                    orjson.dumps({"type": "STORE_UPDATE", "entity": "e"})) for i in range(6)])
    app = ReplayApp(FileSession([path]))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        times = [app.stream.row(r, 140)[0].plain[:12].strip() for r in range(6)]
    assert times[0] == "09-19 16:40" and times[2] == "09-20 16:40" and times[4] == "09-21 16:40"
    assert times[1].startswith("16:40:01") and times[3].startswith("16:40:01")
