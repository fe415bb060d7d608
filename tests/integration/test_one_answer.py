"""One engine, one answer: the replay TUI's selection, ``replay --print``, ``--stats`` and
``tail --filter`` pick the same frames for the same filter on the same input, pairing included.

The TUI side is the real app driven by the pilot for a few filters, and its session and row
index (what the app draws from) for every key of the filter table; the CLI side is the real
command in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from busconsole.filtering import FILTER_KEYS, parse_filter
from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.format import from_record, read_line
from busconsole.recording.writer import RecordingWriter
from busconsole.sessions.file import FileSession
from busconsole.tui.rows import RowIndex
from busconsole.wire import loads

T0 = 1_758_332_000_000.0

# Every key's own example, then what the defects were about: pairing keys, combinations.
FILTERS = [k.example for k in FILTER_KEYS] + [
    "is:error", "is:pending", "is:orphan", "is:timedout", "is:failed", "is:request", "is:reply",
    "is:malformed", "latency>5", "latency<1s", "-is:error", "not is:pending", "type:QUERY or is:error",
    "entity:partner", "entity:partner is:pending", "(type:MUTATION or type:ERROR) -entity:partner",
    "payload.id:3", "/not fo+und/", '"broken"', "level:error", "level:warn,error", "size>150", "dir:out",
    "conn:c2", "op:update", "type:QUERY latency>0", "req:q*",
]


def frame(seq: int, t: float, direction: str, conn: str, obj: dict[str, object] | bytes) -> CapturedFrame:
    raw = obj if isinstance(obj, bytes) else orjson.dumps(obj)
    return CapturedFrame(seq, T0 + t, OUT if direction == "out" else IN, conn, raw)


def traffic() -> list[CapturedFrame]:
    """Two connections: queries answered, one by an ERROR without an entity; mutations answered
    out of order without requestIds (as the framework's server does); requests never answered;
    an orphan reply; console batches with errors; frames real frontends send (half an emoji,
    1e400) and malformed ones."""
    f: list[CapturedFrame] = []

    def add(t: float, d: str, conn: str, obj: dict[str, object] | bytes) -> None:
        f.append(frame(len(f), t, d, conn, obj))

    for n in range(6):
        add(n * 100, "out", "c1", {"type": "QUERY", "entity": "partner", "requestId": f"q{n}",
                                   "payload": {"kind": "partner", "criteria": {"id": n}}})
        if n == 2:
            add(n * 100 + 7, "in", "c1", {"type": "ERROR", "error": "partner 2 not found", "requestId": "q2"})
        elif n != 5:  # q5 is never answered
            add(n * 100 + 3 + n, "in", "c1", {"type": "QUERY_RESULT", "entity": "partner", "requestId": f"q{n}",
                                              "data": {"data": [{"id": n}]}})
    add(700, "out", "c2", {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": 3}})
    add(710, "out", "c2", {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": 4}})
    add(720, "in", "c2", {"type": "STORE_UPDATE", "entity": "compute", "data": {"data": [{"id": 3}]}})
    add(790, "in", "c2", {"type": "MUTATION_SUCCESS", "entity": "compute", "operation": "UPDATE", "data": {"id": 3}})
    add(3900, "in", "c2", {"type": "MUTATION_SUCCESS", "entity": "compute", "operation": "UPDATE", "data": {"id": 4}})
    add(800, "in", "c2", {"type": "QUERY_RESULT", "entity": "partner", "requestId": "nobody", "data": {}})
    add(900, "out", "c2", {"type": "CONSOLE_LOGS", "messages": [
        {"level": "error", "message": "boom"}, {"level": "warn", "message": "hmm"}]})
    add(901, "in", "c2", {"type": "CONSOLE_LOGS_ACK", "received": 2})
    add(950, "out", "c2", rb'{"type":"CONSOLE_LOGS","messages":[{"level":"log","message":"broken \ud83d emoji"}]}')
    add(960, "in", "c1", b'{"type":"STORE_UPDATE","entity":"partner","n":1e400}')
    add(970, "in", "c1", b"not json at all")
    add(980, "in", "c1", b'{"type":"X","v":"\xff"}')
    add(40_000, "out", "c1", {"type": "QUERY", "entity": "compute", "requestId": "late"})
    return f


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "session.jsonl"
    with RecordingWriter(path, "ws://127.0.0.1/test") as w:
        w.write_many(traffic())
    return path


def tui_selection(paths: list[Path], text: str) -> list[tuple[int, float, str, str, bytes]]:
    """What the replay TUI's stream shows for ``text`` once the input is loaded."""
    session = FileSession(paths)
    try:
        session.recording.wait()
        while session.pump(1.0):
            pass
        rows = RowIndex(session.store, parse_filter(text))
        return [ident(session.store.frame(rows.index(r))) for r in range(len(rows))]
    finally:
        session.recording.close()


def ident(f: CapturedFrame) -> tuple[int, float, str, str, bytes]:
    return f.seq, f.t, f.dir, f.conn, f.raw


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run([sys.executable, "-m", "busconsole.cli", *args], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def print_selection(paths: list[Path], text: str) -> list[tuple[int, float, str, str, bytes]]:
    out = cli("replay", *map(str, paths), "--print", "--filter", text).stdout
    got = []
    for line in out.splitlines():
        f = read_line(line) or from_record(loads(line))
        got.append(ident(f))
    return got


def test_every_filter_key_picks_the_same_frames_in_the_tui_and_replay_print(recording: Path) -> None:
    for text in FILTERS:
        want = tui_selection([recording], text)
        assert print_selection([recording], text) == want, text
    # the defects this guards against: pairing keys matched nothing headless
    assert len(tui_selection([recording], "is:pending")) == 2
    assert len(tui_selection([recording], "is:failed")) == 1
    assert tui_selection([recording], "is:error")


def test_the_fixture_tree_gives_the_same_answer_both_ways(fixtures_dir: Path) -> None:
    for text in ("is:error", "is:pending", "level:error", "type:QUERY", "-is:error entity:compute", "latency>1",
                 "is:orphan", "/Operation failed/"):
        assert print_selection([fixtures_dir], text) == tui_selection([fixtures_dir], text), text


async def test_the_app_itself_shows_what_replay_print_prints(recording: Path) -> None:
    from busconsole.tui.replay import ReplayApp

    for text in ("is:error", "is:pending"):
        want = print_selection([recording], text)
        app = ReplayApp(FileSession([recording]))
        async with app.run_test(size=(160, 45)) as pilot:
            for _ in range(200):
                await pilot.pause(0.02)
                if app.file.loaded:
                    break
            await pilot.press("slash", *text, "enter")
            for _ in range(200):
                await pilot.pause(0.02)
                shown = [ident(app.store.frame(app.stream.rows.index(r))) for r in range(len(app.stream.rows))]
                if shown == want:
                    break
            assert shown == want, text


def test_stats_pairs_before_it_filters(recording: Path) -> None:
    whole = cli("replay", str(recording), "--stats").stdout.decode()
    partner = cli("replay", str(recording), "--stats", "--filter", "entity:partner").stdout.decode()
    mutations = cli("replay", str(recording), "--stats", "--filter", "type:MUTATION").stdout.decode()
    # q2 is answered by an ERROR without an entity: still answered, never pending
    assert "pending (no reply): 2" in whole
    assert "pending (no reply): 1" in partner  # q5 only
    assert "n=5 " in partner.split("QUERY partner")[1].splitlines()[0]  # q2 answered, by its ERROR
    assert "pending (no reply): 0" in mutations and "MUTATION compute" in mutations
    assert "span: 2025-09-20T01:33:20.000Z .. " in whole


def test_tail_and_record_judge_a_live_stream_as_the_live_tui_does() -> None:
    """Live, a frame is judged when it arrives (its reply is still to come): the TUI's row index
    scanning each new frame and the headless predicate of tail and record agree frame by frame."""
    from busconsole.commands.headless import frame_predicate
    from busconsole.store import EventStore

    frames = traffic()
    for text in FILTERS:
        keep = frame_predicate(None, None, parse_filter(text))
        store = EventStore()
        rows = RowIndex(store, parse_filter(text))
        shown = []
        for f in frames:
            store.append(CapturedFrame(f.seq, f.t, f.dir, f.conn, f.raw))
            before = len(rows)
            rows.sync()
            shown.extend(rows.index(r) for r in range(before, len(rows)))
        picked = [i for i, f in enumerate(frames) if keep is None or keep(CapturedFrame(f.seq, f.t, f.dir, f.conn, f.raw))]
        assert picked == shown, text
