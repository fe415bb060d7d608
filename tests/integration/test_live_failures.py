"""A failure inside the live capture is visible: the status says "failed" with the reason instead
of "connected", and a recording that cannot be written turns REC red with the frames it lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import small_tmpfs, until

from busconsole import paths
from busconsole.frames import CapturedFrame
from busconsole.protocol import build_query
from busconsole.sessions.live import LiveSession
from busconsole.store import EventStore
from busconsole.tui.widgets.status import RateMeter, status_text


class BrokenStore(EventStore):
    """A store that fails on the first QUERY_RESULT, as a bug in frame handling would."""

    def append(self, frame: CapturedFrame) -> int:
        if frame.type == "QUERY_RESULT":
            raise RuntimeError("store exploded")
        return super().append(frame)


async def test_an_exception_in_frame_handling_fails_the_session_visibly(server: Any) -> None:
    session = LiveSession(server.url, record=False)
    session.store = BrokenStore()
    await session.start()
    try:
        await until(lambda: session.status.phase == "connected", "the connection")
        await session.send(build_query("partner", {"kind": "partner"}))
        await until(lambda: session.status.phase == "failed", "the failure to show")
        assert "RuntimeError: store exploded" in session.status.phase_text
        assert "failed" in status_text("t", session.status, RateMeter(), 0).plain
    finally:
        await session.stop()


@pytest.fixture
def tiny_sessions_dir() -> Iterator[Path]:
    """The sessions folder on a 64 KiB tmpfs: a real full disk after a few hundred frames."""
    with small_tmpfs(paths.sessions_dir()) as where:
        yield where


async def test_a_full_disk_turns_rec_red_with_the_count_and_capture_goes_on(
    server: Any, tiny_sessions_dir: Path
) -> None:
    session = LiveSession(server.url, subscribe=("partner", "compute"))
    await session.start()
    try:
        await until(lambda: session.status.phase == "connected", "the connection")
        for _ in range(400):
            if session.status.unrecorded:
                break
            with contextlib.suppress(Exception):
                await session.send(build_query("compute", {"kind": "compute"}))
            await asyncio.sleep(0.005)
        await until(lambda: session.status.unrecorded > 0, "frames counted as not written")
        line = status_text("t", session.status, RateMeter(), 0).plain
        assert f"REC ✖ {session.status.unrecorded:,} frames not written" in line
        assert "No space left" in line
        before = len(session.store)
        await session.send(build_query("partner", {"kind": "partner"}))
        await until(lambda: len(session.store) > before, "capture to go on")
        assert session.status.phase == "connected"
    finally:
        await session.stop()
