"""FileIndex: block-wise scanning gives the same offsets whatever the block size, and a
paused scan stops after its first block."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest

from busconsole.frames import OUT, CapturedFrame
from busconsole.recording import lines
from busconsole.recording.format import encode
from busconsole.recording.index import FileIndex

HEADER = b'{"busconsole":"recording","version":1,"created":"2025-01-01T00:00:00Z","source":"x"}\n'


def line(seq: int, pad: int = 0) -> bytes:
    frame = {"type": "STORE_UPDATE", "entity": "partner", "data": "x" * pad}
    return encode(CapturedFrame(seq, float(seq), OUT, "c1", orjson.dumps(frame)))


def starts(data: bytes, skip_first: bool) -> list[int]:
    """Frame-line starts the slow, obvious way."""
    out, pos = [], 0
    for n, text in enumerate(data.splitlines(True)):
        if not (skip_first and n == 0) and text.strip():
            out.append(pos)
        pos += len(text)
    return out


@pytest.mark.parametrize("chunk", [16, 100, 333, 1 << 22])
def test_offsets_do_not_depend_on_the_block_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(lines, "CHUNK", chunk)  # lines longer than a block, and blocks of many lines
    data = HEADER + b"".join(line(i, pad=(i * 37) % 400) for i in range(1, 60))
    path = tmp_path / "r.jsonl"
    path.write_bytes(data)
    fi = FileIndex(path, "r.jsonl", [])
    fi.read_header()
    fi.scan()
    assert list(fi.offsets) == starts(data, skip_first=True)
    assert [orjson.loads(fi.line(j))["seq"] for j in range(len(fi))] == list(range(1, 60))
    assert fi.done and fi.clean and fi.lines == 60


def test_garbage_in_a_block_is_skipped_and_the_rest_indexed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "CHUNK", 200)
    body = [line(i) for i in range(1, 20)]
    body.insert(7, b"not json at all\n")
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(body))
    problems: list[str] = []
    fi = FileIndex(path, "r.jsonl", problems)
    fi.scan()
    assert [orjson.loads(fi.line(j))["seq"] for j in range(len(fi))] == list(range(1, 20))
    assert problems == ["r.jsonl:8: skipped a line that is not a JSON object"] and not fi.clean


def test_a_paused_scan_indexes_its_first_block_then_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "CHUNK", 1000)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(line(i) for i in range(1, 200)))
    fi = FileIndex(path, "r.jsonl", [])
    fi.go.clear()
    scanner = threading.Thread(target=fi.scan)
    scanner.start()
    try:
        for _ in range(100):  # the first block is indexed, then the scan sits at go.wait()
            scanner.join(0.01)
            if len(fi):
                break
        first = len(fi)
        scanner.join(0.1)
        assert 0 < first == len(fi) < 199 and not fi.done and scanner.is_alive()
    finally:
        fi.go.set()
        scanner.join(10)
    assert len(fi) == 199 and fi.done


def test_closing_a_recording_whose_indexing_is_paused_does_not_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from busconsole.recording.reader import open_recording

    monkeypatch.setattr(lines, "CHUNK", 1000)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(line(i) for i in range(1, 400)))
    rec = open_recording([path], start=False)
    rec.pause_indexing()  # before the thread starts: it stops after its first block for sure
    rec.start()
    closer = threading.Thread(target=rec.close, daemon=True)
    closer.start()
    closer.join(10)
    assert not closer.is_alive()  # it used to wait for the paused scan forever


@pytest.mark.parametrize("tail", [b"", b"\n", b'{"seq":9,"t":9.0', b"garbage\n"])
def test_a_small_file_read_whole_at_open_indexes_as_a_big_one_would(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(HEADER + b"".join(line(i) for i in range(1, 6)) + tail)
    seen = []
    for keep in (True, False):
        problems: list[str] = []
        fi = FileIndex(path, "r.jsonl", problems)
        kept = fi.read_header(keep_small=keep)
        assert (kept == path.stat().st_size) == keep
        edges = fi.edge_times()
        fi.scan()
        seen.append((list(fi.offsets), edges, problems, fi.clean, fi.lines))
    assert seen[0] == seen[1] and seen[0][1] == (1.0, 5.0)
