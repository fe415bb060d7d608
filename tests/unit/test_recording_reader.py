"""Reader: damaged lines, versions, formats detected per line, merging, following, the real logs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import orjson
import pytest
from tests.conftest import fixture_total

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.format import encode
from busconsole.recording.reader import RecordingError, open_recording
from busconsole.recording.writer import RecordingWriter

HEADER = b'{"busconsole":"recording","version":1,"created":"2025-01-01T00:00:00Z","source":"x"}\n'


def rec_line(seq: int, t: float, kind: str = "QUERY") -> bytes:
    return encode(CapturedFrame(seq, t, OUT, "c1", orjson.dumps({"type": kind, "timestamp": t})))


def read_all(path: Path | list[Path], **kw: bool) -> tuple[list[CapturedFrame], list[str]]:
    with open_recording(path if isinstance(path, list) else [path], **kw) as rec:
        rec.wait()
        return list(rec), list(rec.problems)


def test_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    full = rec_line(3, 3.0)
    path.write_bytes(HEADER + rec_line(1, 1.0) + rec_line(2, 2.0) + full[: len(full) // 2])
    got, problems = read_all(path)
    assert [f.seq for f in got] == [1, 2]
    assert problems == [f"{path}:4: skipped a torn line"]


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(HEADER + rec_line(1, 1.0) + rec_line(2, 2.0).rstrip(b"\n"))
    got, problems = read_all(path)
    assert [f.seq for f in got] == [1, 2] and problems == []


def test_garbage_lines_are_skipped_and_reported_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(HEADER + rec_line(1, 1.0) + b"hello world\n\n[1,2]\n" + rec_line(2, 2.0) + b"{oops}\n")
    got, problems = read_all(path)
    assert [f.seq for f in got] == [1, 2]
    assert problems == [
        f"{path}:3: skipped a line that is not a JSON object",
        f"{path}:5: skipped a line that is not a JSON object",
        f"{path}:7: skipped a torn line",
    ]


def test_newer_version_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"busconsole":"recording","version":2,"source":"x"}\n' + rec_line(1, 1.0))
    with pytest.raises(RecordingError, match="newer busconsole.*please update"):
        open_recording([path])


def test_missing_paths_raise_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such file"):
        open_recording([tmp_path / "nope.jsonl"])
    with pytest.raises(RecordingError, match="no file matches"):
        open_recording([str(tmp_path / "*.jsonl")])
    with pytest.raises(RecordingError, match="no recording files"):
        open_recording([tmp_path])


def test_plain_event_jsonl_takes_time_and_direction_from_the_frame(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        {"type": "QUERY", "entity": "partner", "requestId": "r1", "timestamp": 1000},
        {"type": "QUERY_RESULT", "entity": "partner", "requestId": "r1", "timestamp": 1005, "extra": [1]},
        {"entity": "no type", "timestamp": 1010},
    ]
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    got, problems = read_all(path)
    assert [(f.type, f.dir, f.t) for f in got] == [
        ("QUERY", OUT, 1000.0), ("QUERY_RESULT", IN, 1005.0), ("MALFORMED", IN, 1010.0)]
    assert got[1].raw == orjson.dumps(lines[1])  # the wire bytes, unknown fields kept
    assert problems == []


def test_console_log_lines_become_one_message_console_frames(tmp_path: Path) -> None:
    path = tmp_path / "console-logs-2025-09-22.jsonl"
    msg = {"timestamp": 5, "isoTimestamp": "1970-01-01T00:00:00.005Z", "level": "error", "message": "boom",
           "args": [], "source": "frontend"}
    path.write_bytes(orjson.dumps(msg) + b"\n")
    (f,), _ = read_all(path)
    assert f.type == "CONSOLE_LOGS" and f.dir == OUT and f.t == 5.0
    assert f.obj == {"type": "CONSOLE_LOGS", "messages": [msg], "timestamp": 5}


def test_overlapping_files_merge_by_time(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(HEADER + rec_line(1, 10.0) + rec_line(2, 30.0) + rec_line(3, 50.0))
    b.write_bytes(b"".join(orjson.dumps({"type": "STORE_UPDATE", "timestamp": t}) + b"\n" for t in (20, 40, 50)))
    with open_recording([a, b]) as rec:
        rec.wait()
        assert rec.merged
        assert [(rec.frame(i).t, rec.frame(i).type) for i in range(len(rec))] == [
            (10.0, "QUERY"), (20.0, "STORE_UPDATE"), (30.0, "QUERY"), (40.0, "STORE_UPDATE"),
            (50.0, "QUERY"), (50.0, "STORE_UPDATE")]


def test_follow_picks_up_appended_frames_and_waits_for_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    w = RecordingWriter(path, "ws://127.0.0.1:1")
    w.write(CapturedFrame(1, 1.0, OUT, "c1", b'{"type":"QUERY"}'))
    with open_recording([path], follow=True) as rec:
        rec.wait()
        assert len(rec) == 1
        w.write(CapturedFrame(2, 2.0, IN, "c1", b'{"type":"QUERY_RESULT"}'))
        line = rec_line(3, 3.0)
        with open(path, "ab") as f:
            f.write(line[:10])  # a line being written
        assert rec.refresh() == 1
        assert rec.frame(1).type == "QUERY_RESULT" and rec.problems == []
        with open(path, "ab") as f:
            f.write(line[10:])
        assert rec.refresh() == 1 and rec.frame(2).seq == 3
    w.close()


def test_gz_and_plain_files_together(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(HEADER + rec_line(1, 1.0)))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_bytes(rec_line(2, 2.0))
    got, _ = read_all(tmp_path)
    assert [f.seq for f in got] == [1, 2]


@pytest.mark.fixtures
def test_every_fixture_file_imports_with_the_documented_counts(fixtures_dir: Path) -> None:
    counts = json.loads((fixtures_dir / "counts.json").read_text())
    events = sorted((fixtures_dir / "store-debug").glob("store-events-*.jsonl"))
    assert len(events) == counts["store_events"]["files"]
    got, problems = read_all(events)
    assert problems == []
    assert len(got) == counts["store_events"]["lines"]
    assert {f.type for f in got} == {"CONSOLE_LOGS"} and {f.dir for f in got} == {OUT}
    levels = Counter(m["level"] for f in got for m in f.obj["messages"])  # type: ignore[index]
    assert sum(levels.values()) == counts["store_events"]["console_messages"]
    assert dict(levels) == counts["store_events"]["by_level"]
    assert [f.t for f in got] == sorted(f.t for f in got)
    for name in ("store-debug/cloud/history.jsonl", "logs/store-history-2025-09-19-18.jsonl"):
        got, problems = read_all(fixtures_dir / name)
        assert len(got) == counts[name] and problems == []
        assert all(f.obj is not None and f.t > 1.7e12 for f in got)
    got, problems = read_all(fixtures_dir / "store-debug" / "cloud" / "history.jsonl")
    assert {f.type for f in got} == {"QUERY"} and all("stateBefore" in f.obj for f in got)  # type: ignore[operator]
    got, _ = read_all(fixtures_dir / "logs" / "store-history-2025-09-19-18.jsonl")
    first = got[0].obj
    assert first is not None and first["type"] == "machine" and first["sequence"] == 1 and "snapshot" in first
    total = fixture_total(fixtures_dir)
    got, problems = read_all(fixtures_dir)  # the whole tree, merged in time order
    assert len(got) == total and problems == []
    assert [f.t for f in got] == sorted(f.t for f in got)


# ------------------------------------------------------------------------------ bulk line search

def mixed_recording(path: Path, n: int = 400) -> list[CapturedFrame]:
    """Frames of every kind a recording holds: JSON in any case, text that is not JSON, binary."""
    frames = []
    for i in range(n):
        kind = i % 8
        if kind == 5:
            raw, binary = b'not json: Error "quoted" \\ a/b', False
        elif kind == 6:
            raw, binary = b"\x00\xffbinary ERROR here", True
        else:
            level = ("error", "ERROR", "log", "warn", "info")[i % 5]
            raw = orjson.dumps({"type": ("CONSOLE_LOGS", "QUERY", "console_logs")[i % 3], "entity": "partner",
                                "messages": [{"level": level, "message": f"m{i} a/b"}], "timestamp": i})
            binary = False
        frames.append(CapturedFrame(i, float(i), IN, "c1", raw, binary))
    with RecordingWriter(path, "test") as w:
        for f in frames:
            w.write(f)
    return frames


@pytest.mark.parametrize("text", ["level:error", "error", "ERROR here", '"quoted"', "a/b", "type:query",
                                  "m1*", "payload.x:1", "-level:error", "level:warn or binary"])
def test_search_lines_misses_no_matching_frame(tmp_path: Path, text: str) -> None:
    from busconsole.facts import FrameFacts
    from busconsole.filtering import parse_filter

    path = tmp_path / "r.jsonl"
    mixed_recording(path)
    flt = parse_filter(text)
    assert flt.root is not None
    with open_recording([path]) as rec:
        rec.wait()
        every = [i for i in range(len(rec)) if flt.matches(FrameFacts(rec.frame(i), i))]
        found = [i for i, line in rec.search_lines(flt.root.anchor_sets())
                 if rec.line(i) == line and flt.matches(FrameFacts(rec.frame(i), i))]
        assert found == every
        searched = [i for i, _ in rec.search_lines(flt.root.anchor_sets())]
        if text == "type:query":  # the search rules lines out before any is parsed
            assert len(searched) < len(rec)


@pytest.mark.parametrize("text", ["level:error", "error", "type:query", "binary", "-level:error",
                                  "level:warn or binary"])
@pytest.mark.parametrize("damage", [b"", b"garbage line\n\n", b'{"seq":99,"t":1.0,"dir":"in"', b"{torn"])
def test_one_pass_without_an_index_prints_what_the_indexed_search_prints(
    tmp_path: Path, text: str, damage: bytes
) -> None:
    from busconsole.facts import FrameFacts
    from busconsole.filtering import parse_filter

    path = tmp_path / "r.jsonl"
    mixed_recording(path)
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    path.write_bytes(data[:cut] + (damage if damage.endswith(b"\n") else b"") + data[cut:]
                     + (b"" if damage.endswith(b"\n") else damage))  # damage in the middle, or a torn end
    flt = parse_filter(text)
    assert flt.root is not None

    def printed(index: bool) -> tuple[list[bytes], list[str]]:
        with open_recording([path], start=index) as rec:
            out = [encode(f) for _, f in rec.candidates(flt.root.anchor_sets(), not flt.root.needs_object())
                   if flt.matches(FrameFacts(f, f.seq))]
            return out, sorted(rec.problems)

    assert printed(index=False) == printed(index=True)
    assert printed(index=False)[0]


@pytest.mark.parametrize("block", [1, 100, 4096, 1 << 20])
def test_runs_of_any_size_tile_the_lines_and_the_search_finds_every_needle(tmp_path: Path, block: int) -> None:
    path = tmp_path / "r.jsonl"
    mixed_recording(path)
    with open_recording([path]) as rec:
        rec.wait()
        fi = rec.files[0]
        lines = [fi.line(j) for j in range(len(fi))]
        runs = list(fi.blocks(3, block))
        assert [line for _, data, _ in runs for line in data.splitlines()] == lines[3:]
        assert all(j == (runs[k - 1][0] + len(runs[k - 1][2]) if k else 3) for k, (j, _, _) in enumerate(runs))
        assert all(len(data) - len(data.splitlines()[-1]) - 1 < block for _, data, _ in runs)  # last starts inside
        assert (len(runs) == 1) == (block == 1 << 20)
        want = [j for j, line in enumerate(lines) if j >= 5 and (b"error" in line.lower() or b"a/b" in line)]
        assert [j for j, _ in fi.search((b"error", b"a/b"), 5, block=block)] == want
        assert all(line == lines[j] for j, line in fi.search((b"error",), 0, block=block))


def test_record_frame_reads_busconsole_lines_and_declines_others() -> None:
    from busconsole.recording.detect import parse_line
    from busconsole.recording.format import read_line as record_frame

    f = CapturedFrame(7, 1.5, OUT, 'c"1', b'{"type":"QUERY","x":[1,{"y":"z"}]}')
    fast = record_frame(encode(f).rstrip(b"\n"))
    assert fast is not None and (fast.seq, fast.t, fast.dir, fast.conn, fast.raw) == (7, 1.5, OUT, 'c"1', f.raw)
    assert fast.obj == parse_line(f.raw)
    for line in (b'{"seq":1,"t":2,"dir":"in","conn":"c1","frame":{"type":"Q"},"x":1}',
                 b'{"seq":1,"t":2,"dir":"in","conn":"c1","frame":[1]}',
                 b'{"seq":1,"t":2,"dir":"in","conn":"c1","raw":"text"}',
                 b'{"seq":1, "t":2,"dir":"in","conn":"c1","frame":{"type":"Q"}}'):
        assert record_frame(line) is None, line
