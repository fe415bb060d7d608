"""LiveSession against the real reference server; the status phrases; send refusals."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from typing import Any

import pytest
from tests.conftest import until

from busconsole.protocol import build_mutation, build_query
from busconsole.sessions.base import (
    CannotSendError,
    ReadOnlyError,
    Recordable,
    Session,
    SessionStatus,
    StoreSession,
)
from busconsole.sessions.live import LiveSession
from busconsole.store import EventStore


def test_phase_text() -> None:
    assert SessionStatus(phase="connected").phase_text == "connected"
    st = SessionStatus(phase="reconnecting", attempt=3, retry_at=time.time() + 2.4)
    assert st.phase_text.startswith("reconnecting in ") and st.phase_text.endswith("(attempt 3)")
    assert SessionStatus(phase="failed", last_error="HTTP 403").phase_text == "failed: HTTP 403"


async def test_live_session_records_counts_and_pairs(server: Any) -> None:
    session = LiveSession(server.url + "?token=s3cret", subscribe=("partner",))
    assert isinstance(session, Session) and isinstance(session, Recordable)
    assert "s3cret" not in session.title
    await session.start()
    try:
        await until(lambda: session.subscriptions["partner"] >= 1, "SUBSCRIPTION_DATA counted")
        await session.send(build_query("partner", {"kind": "partner"}))
        await until(lambda: session.store.values("type").get("QUERY_RESULT"), "the QUERY_RESULT")
        query = session.store.positions("type", "QUERY")[0]
        assert session.store.pairing.pair_of(query) is not None
        assert session.status.frames_out >= 2 and session.status.frames_in >= 3
        path = session.status.recording_path
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert session.status.recording_bytes > 0
    finally:
        await session.stop()
    assert session.status.phase == "closed" and not session.recording
    assert b"s3cret" not in path.read_bytes()
    # every frame the store took in is in the recording, in order, once
    seqs = [json.loads(line)["seq"] for line in path.read_bytes().splitlines()[1:]]
    assert seqs == [session.store.frame(i).seq for i in range(len(session.store))]


async def test_read_only_refuses_mutations_and_sends_nothing(server: Any) -> None:
    session = LiveSession(server.url, record=False, read_only=True)
    await session.start()
    try:
        await until(lambda: session.status.phase == "connected", "connected")
        before = len(server.received)
        with pytest.raises(ReadOnlyError):
            await session.send(build_mutation("compute", "UPDATE", {"id": 1, "status": "ACTIVE"}))
        await asyncio.sleep(0.2)
        assert len(server.received) == before
    finally:
        await session.stop()


async def test_store_session_cannot_send() -> None:
    session = StoreSession(EventStore(), "file.jsonl")
    assert not session.can_send
    with pytest.raises(CannotSendError):
        await session.send({"type": "QUERY"})


async def test_a_live_session_reads_frames_that_left_its_window_back_from_its_recording(server: Any) -> None:
    session = LiveSession(server.url, subscribe=("partner",), max_frames=40)
    await session.start()
    try:
        await until(lambda: session.status.phase == "connected", "the connection")
        for _ in range(60):
            await session.send(build_query("partner", {"kind": "partner"}))
        await until(lambda: len(session.store) >= 120, "frames past the window")
        store = session.store
        assert store.window_start > 0 and store.first_index == 0  # every frame still reachable
        seqs = [store.frame(i).seq for i in range(len(store))]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        early = {store.frame(i).type for i in range(3)}  # their order depends on when CONNECTION lands
        assert {"CONNECTION", "SUBSCRIBE"} <= early
    finally:
        await session.stop()
