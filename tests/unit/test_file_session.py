"""file_session.py: a recording loaded in batches, browsed whole or played back by the clock."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import fixture_total

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.writer import RecordingWriter
from busconsole.sessions.base import CannotSendError
from busconsole.sessions.file import FOLLOW_SECONDS, FileSession, FileStore, describe
from busconsole.store import EventStore

T0 = 1_758_332_020_000.0
PUMPS = 10_000  # every loop below is bounded; a few dozen pumps are usually enough


def loaded(session: FileSession) -> FileSession:
    session.recording.wait(30)
    for _ in range(PUMPS):
        if not session.pump(budget=0.05):
            return session
    raise AssertionError("the file did not finish loading")


def settle(session: FileSession, now: float = 0.0) -> None:
    for _ in range(PUMPS):
        if not session.pump(budget=0.05, now=now):
            return
    raise AssertionError("playback did not catch up")


def session_frames(n: int = 6) -> list[tuple[str, dict[str, Any], float]]:
    """(dir, frame, t): queries answered, a mutation failing, console errors, one request left unanswered."""
    out: list[tuple[str, dict[str, Any], float]] = []
    t = T0
    for k in range(n):
        req = f"req_{k:04d}"
        out.append((OUT, {"type": "QUERY", "entity": "partner", "payload": {"kind": "partner"}, "requestId": req}, t))
        rows = [{"id": i, "name": f"p{i}", "status": "ACTIVE" if (i + k) % 2 else "SUSPENDED"} for i in range(k + 1)]
        out.append((IN, {"type": "QUERY_RESULT", "entity": "partner", "requestId": req,
                         "data": {"entity": "partner", "data": rows, "meta": {"total": k + 1}}}, t + 15))
        out.append((OUT, {"type": "CONSOLE_LOGS", "messages": [
            {"level": "error" if k % 3 == 0 else "info", "message": f"message {k}"}]}, t + 20))
        if k % 2:
            mreq = f"req_m{k:04d}"
            out.append((OUT, {"type": "MUTATION", "entity": "compute", "operation": "UPDATE",
                              "payload": {"id": 999}, "requestId": mreq}, t + 30))
            out.append((IN, {"type": "ERROR", "error": "not found", "requestId": mreq}, t + 40))
        t += 1000
    out.append((OUT, {"type": "QUERY", "entity": "cloud", "payload": {"kind": "cloud"}, "requestId": "req_last"}, t))
    return out


def write_recording(path: Path, frames: list[tuple[str, dict[str, Any], float]], start_seq: int = 1,
                    writer: RecordingWriter | None = None) -> Path:
    w = writer or RecordingWriter(path, "ws://127.0.0.1:3013/store-debug")
    for seq, (direction, obj, t) in enumerate(frames, start_seq):
        w.write(CapturedFrame(seq, t, OUT if direction == OUT else IN, "c1", orjson.dumps({**obj, "timestamp": int(t)})))
    if writer is None:
        w.close()
    return path


def snapshot(store: EventStore) -> dict[str, Any]:
    """What playback must reproduce: counts, state per entity, pending requests, console, errors."""
    return {
        "frames": len(store),
        "types": store.values("type"),
        "state": {e: json.dumps(store.state.current(e), sort_keys=True) for e in store.state.entities()},
        "pending": [(p.index, p.type, p.entity) for p in store.pairing.pending(now=0)],
        "console": store.console.count_by_level(),
        "errors": list(store.error_positions()),
    }


def test_a_whole_fixtures_directory_opens_as_one_session_in_time_order(fixtures_dir: Path) -> None:
    counts = json.loads((fixtures_dir / "counts.json").read_text())
    session = loaded(FileSession([fixtures_dir]))
    store = session.browse
    expected = fixture_total(fixtures_dir)
    assert len(store) == expected == len(session.recording)
    assert store.values("type")["CONSOLE_LOGS"] == counts["store_events"]["lines"]
    assert store.console.count_by_level() == counts["store_events"]["by_level"]
    assert list(session.times) == sorted(session.times)
    assert session.status.phase == "file" and session.progress == 1.0
    assert session.status.frames_in + session.status.frames_out == expected
    assert session.title == fixtures_dir.name


def test_playback_at_max_speed_ends_in_the_same_state_as_browsing(tmp_path: Path) -> None:
    session = loaded(FileSession([write_recording(tmp_path / "s.jsonl", session_frames())]))
    session.clock.speed = math.inf
    session.play_pause(now=0.0)
    settle(session)
    assert session.store is session.playback and session.clock.at_end
    assert snapshot(session.playback) == snapshot(session.browse)
    assert snapshot(session.browse)["pending"] == [(len(session.browse) - 1, "QUERY", "cloud")]


def test_playback_shows_the_moment_and_a_backward_seek_is_instant(tmp_path: Path) -> None:
    frames = session_frames()
    session = loaded(FileSession([write_recording(tmp_path / "s.jsonl", frames)]))
    session.play_pause(now=0.0)
    session.clock.speed = 1.0
    settle(session, now=1.2)  # 1.2 s of session time at 1x: the first two rounds have happened
    first_rounds = sum(1 for _, _, t in frames if t <= T0 + 1200)
    assert session.clock.position == len(session.playback) == first_rounds
    generation = session.generation
    session.seek(2, now=2.0)  # the first query and its reply only
    session.pump(now=2.0)  # one pump: nothing is re-fed, the view moves
    assert session.generation > generation and len(session.store) == 2
    expected = EventStore()
    for i in range(2):
        expected.append(session.recording.frame(i))
    assert snapshot(session.playback) == snapshot(expected)
    session.clock.pause()
    for position in (0, 1, 5, len(session.browse), 3):  # anywhere, the view is the store fed that far
        session.seek(position, now=3.0)
        session.pump(now=3.0)
        expected = EventStore()
        for i in range(position):
            expected.append(session.recording.frame(i))
        assert snapshot(session.playback) == snapshot(expected), position
        assert [facts_of(session.playback, i) for i in range(position)] == [facts_of(expected, i) for i in range(position)]


def facts_of(store: Any, i: int) -> tuple[Any, ...]:
    f = store.facts(i, now=0)
    return (f.type, f.latency, f.pending, f.failed, f.orphan, f.error)


def test_pairing_is_judged_at_the_session_clock_not_the_wall_clock(tmp_path: Path) -> None:
    session = loaded(FileSession([write_recording(tmp_path / "s.jsonl", session_frames())]))
    last = len(session.browse) - 1
    assert session.browse.facts(last).pending and not session.browse.facts(last).timed_out
    session.seek(1, now=0.0)
    settle(session)
    first = session.playback.facts(0)
    assert first.pending and not first.timed_out  # its reply comes 15 ms later in the recording
    assert session.browse.facts(0).latency == 15.0


def test_a_small_window_still_knows_every_error_and_every_frame(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "s.jsonl", session_frames(60))
    whole = loaded(FileSession([path]))
    windowed = loaded(FileSession([path], window_mb=0.004))
    assert windowed.browse.window_start > 0  # frames were evicted from memory
    assert list(windowed.browse.error_positions()) == list(whole.browse.error_positions())
    assert windowed.browse.frame(0).raw == whole.browse.frame(0).raw
    assert isinstance(windowed.browse, FileStore) and len(windowed.browse) == len(whole.browse)


@pytest.mark.parametrize(
    "text", ["level:error", "type:ERROR", "entity:partner type:QUERY_RESULT", "partner", "is:pending",
             "dir:out -type:QUERY", "is:error", "level:error or entity:partner"],
)
def test_filters_over_frames_that_left_the_window_match_a_frame_by_frame_test(tmp_path: Path, text: str) -> None:
    from busconsole.filtering import parse_filter

    path = write_recording(tmp_path / "s.jsonl", session_frames(60))
    windowed = loaded(FileSession([path], window_mb=0.004))
    store = windowed.browse
    assert store.window_start > len(store) // 2  # most frames are read back from the file
    flt = parse_filter(text)
    every = [i for i in range(len(store)) if flt.matches(store.facts(i))]
    assert list(flt.select(store)) == every


def test_follow_picks_up_frames_appended_to_a_growing_recording(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    frames = session_frames(4)
    with RecordingWriter(path, "ws://127.0.0.1:3013/store-debug") as writer:
        write_recording(path, frames[:5], writer=writer)
        session = loaded(FileSession([path], follow=True))
        assert len(session.browse) == 5 and session.status.phase == "following"
        write_recording(path, frames[5:], start_seq=6, writer=writer)
        for step in range(1, 200):
            session.pump(now=step * FOLLOW_SECONDS)
            if len(session.browse) == len(frames):
                break
        assert len(session.browse) == len(frames)


async def test_a_file_without_to_cannot_send_or_subscribe(tmp_path: Path) -> None:
    session = FileSession([write_recording(tmp_path / "s.jsonl", session_frames(1))])
    assert not session.can_send
    with pytest.raises(CannotSendError):
        await session.send({"type": "QUERY", "entity": "partner"})
    with pytest.raises(CannotSendError):
        await session.subscribe("partner")
    await session.stop()
    assert session.status.phase == "closed"


def test_titles_name_what_was_opened() -> None:
    assert describe(["/a/s.jsonl"]) == "s.jsonl"
    assert describe(["a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl"]) == "a.jsonl, b.jsonl +2 more"
