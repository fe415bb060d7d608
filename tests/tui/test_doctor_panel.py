"""The bus doctor panel (``D``): the whole file's findings in a replay, live findings as frames
arrive, and ``enter`` applying a finding's filter to the stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from busconsole.sessions.base import StoreSession
from busconsole.sessions.file import FileSession
from busconsole.store import EventStore
from busconsole.tui.app import BusConsoleApp
from busconsole.tui.replay import ReplayApp
from busconsole.tui.screens.doctor import DoctorScreen
from doctor_traffic import Traffic

pytestmark = pytest.mark.timeout(60)
SIZE = (140, 40)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    t = Traffic()
    for n in range(6):  # a retry storm: the same query six times in 7.5 s
        t.query(n * 1500, criteria={"name": "telcobright"})
    t.query(20_000, req=False)
    t.query(22_000, req=False)
    return t.write(tmp_path / "session.jsonl")


async def settle(pilot: object, ready: object, tries: int = 200) -> None:
    for _ in range(tries):
        await pilot.pause(0.02)  # type: ignore[attr-defined]
        if ready():  # type: ignore[operator]
            return
    raise AssertionError("timed out")


async def test_enter_applies_the_findings_filter_to_the_replay_stream(recording: Path) -> None:
    app = ReplayApp(FileSession([recording]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.file.loaded)
        await pilot.press("D")
        await settle(pilot, lambda: isinstance(app.screen, DoctorScreen) and app.screen.report is not None)
        screen = app.screen
        assert isinstance(screen, DoctorScreen)
        assert screen.report is not None
        assert [f.check for f in screen.report.findings] == ["retry-storm", "missing-request-id"]
        await pilot.press("enter")  # the first: the retry storm
        await settle(pilot, lambda: not isinstance(app.screen, DoctorScreen) and len(app.stream.rows) == 6)
        assert app.filter_bar.applied == "is:retry"
        await pilot.press("D", "down", "enter")
        await settle(pilot, lambda: app.filter_bar.applied == "is:noreqid" and len(app.stream.rows) == 2)
        await pilot.press("D", "escape")
        await settle(pilot, lambda: not isinstance(app.screen, DoctorScreen))
        assert app.filter_bar.applied == "is:noreqid"


async def test_live_findings_follow_the_frames_as_they_arrive(recording: Path) -> None:
    from busconsole.recording.reader import open_recording

    rec = open_recording([recording])
    rec.wait()
    frames = [rec.frame(i) for i in range(len(rec))]
    store = EventStore()
    app = BusConsoleApp(StoreSession(store, "live test", phase="connected"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("D")
        await settle(pilot, lambda: isinstance(app.screen, DoctorScreen) and app.screen.report is not None)
        screen = app.screen
        assert isinstance(screen, DoctorScreen)
        assert screen.report is not None and screen.report.findings == []
        for f in frames:
            store.append(f)
        await settle(pilot, lambda: screen.report is not None and len(screen.report.findings) == 2)
        await pilot.press("down", "enter")
        await settle(pilot, lambda: app.filter_bar.applied == "is:noreqid" and len(app.stream.rows) == 2)
        # a live store keeps the doctor's flags too: the storm's own frames
        await pilot.press("D", "enter")
        await settle(pilot, lambda: app.filter_bar.applied == "is:retry" and len(app.stream.rows) > 0)
