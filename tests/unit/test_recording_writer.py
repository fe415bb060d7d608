"""RecordingWriter: header, 0600, redaction before disk, gzip, rotation; read back identical."""

from __future__ import annotations

import gzip
import stat
from pathlib import Path

import orjson
import pytest

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.reader import open_recording
from busconsole.recording.redact import Redactor
from busconsole.recording.writer import RecordingWriter, part_path


def frames(n: int, start: int = 1) -> list[CapturedFrame]:
    out = []
    for i in range(start, start + n):
        body = {"type": "QUERY" if i % 2 else "QUERY_RESULT", "entity": "partner", "requestId": f"r{i // 2}",
                "timestamp": 1_758_000_000_000 + i, "payload": {"n": i, "text": "x" * 50}}
        out.append(CapturedFrame(i, 1_758_000_000_000.5 + i, OUT if i % 2 else IN, "c1", orjson.dumps(body)))
    return out


def same(a: CapturedFrame, b: CapturedFrame) -> bool:
    return (a.seq, a.t, a.dir, a.conn, a.raw, a.binary) == (b.seq, b.t, b.dir, b.conn, b.raw, b.binary)


def test_header_mode_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    sent = frames(20)
    sent.append(CapturedFrame(21, 1.0, IN, "c1", b"not json at all"))
    sent.append(CapturedFrame(22, 2.0, IN, "c1", b"\x00\xffbin", binary=True))
    with RecordingWriter(path, "ws://user:pw@127.0.0.1:9/x?token=abc") as w:
        for f in sent:
            w.write(f)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert w.frames == 22 and w.bytes == path.stat().st_size
    header = orjson.loads(path.read_bytes().split(b"\n", 1)[0])
    assert header["busconsole"] == "recording" and header["version"] == 1
    assert header["source"] == "ws://user:***@127.0.0.1:9/x?token=***"
    assert header["redact"] == Redactor().rules
    with open_recording([path]) as rec:
        rec.wait()
        assert len(rec) == 22 and rec.problems == []
        assert all(same(rec.frame(i), f) for i, f in enumerate(sent))


def test_existing_file_is_tightened_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text("old")
    path.chmod(0o644)
    RecordingWriter(path, "ws://127.0.0.1:1").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"old" not in path.read_bytes()


def test_secret_in_payload_never_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    secret = "S3CR3T-VALUE-1234"
    frame = {"type": "MUTATION", "entity": "user", "operation": "UPDATE",
             "payload": {"id": 1, "password": secret, "profile": {"apiKey": secret}}}
    with RecordingWriter(path, f"ws://127.0.0.1:1/?token={secret}") as w:
        w.write(CapturedFrame(1, 1.0, OUT, "c1", orjson.dumps(frame)))
        w.write(CapturedFrame(2, 2.0, IN, "c1", f"garbage token={secret}".encode()))
        w.write(CapturedFrame(3, 3.0, IN, "c1", f'{{"type":"X","h":"Bearer {secret}"}}'.encode()))
    data = path.read_bytes()
    assert secret.encode() not in data
    with open_recording([path]) as rec:
        rec.wait()
        assert rec.frame(0).obj["payload"]["password"] == "***"  # type: ignore[index]


def test_no_redactor_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path, "ws://127.0.0.1:1", redactor=None) as w:
        w.write(CapturedFrame(1, 1.0, OUT, "c1", b'{"type":"X","token":"t"}'))
    assert b'"token":"t"' in path.read_bytes()
    assert orjson.loads(path.read_bytes().split(b"\n")[0])["redact"] == []


def test_gzip_is_readable_line_by_line_even_before_close(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl.gz"
    sent = frames(30)
    w = RecordingWriter(path, "ws://127.0.0.1:1")
    for f in sent:
        w.write(f)
    # not closed: a crash now must still leave every written line readable (Z_SYNC_FLUSH)
    with open_recording([path]) as rec:
        rec.wait()
        assert len(rec) == 30
        assert all(same(rec.frame(i), f) for i, f in enumerate(sent))
    w.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert gzip.decompress(path.read_bytes()).count(b"\n") == 31
    with open_recording([path]) as rec:
        rec.wait()
        assert len(rec) == 30 and rec.problems == []


def test_rotation_into_numbered_parts_read_as_one_session(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    sent = frames(300)
    with RecordingWriter(path, "ws://127.0.0.1:1", rotate_mb=0.01) as w:
        for f in sent:
            w.write(f)
    assert len(w.paths) >= 3
    assert w.paths[1] == part_path(path, 1) == tmp_path / "rec.1.jsonl"
    for p in w.paths:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert p.stat().st_size < 0.01 * 1024 * 1024 + 1024
        assert orjson.loads(p.read_bytes().split(b"\n")[0])["busconsole"] == "recording"
    with open_recording([path]) as rec:  # the first part's name brings the others
        rec.wait()
        assert not rec.merged
        assert [rec.frame(i).seq for i in range(len(rec))] == list(range(1, 301))
    with open_recording([str(tmp_path / "rec*.jsonl")]) as rec:
        rec.wait()
        assert len(rec) == 300


def test_write_after_close_is_refused(tmp_path: Path) -> None:
    w = RecordingWriter(tmp_path / "r.jsonl", "ws://127.0.0.1:1")
    w.close()
    with pytest.raises(ValueError):
        w.write(frames(1)[0])


@pytest.mark.parametrize("name", ["rec.jsonl", "rec.jsonl.gz"])
def test_write_many_equals_one_write_per_frame(tmp_path: Path, name: str) -> None:
    sent = frames(40)
    secret = {"type": "MUTATION", "entity": "user", "payload": {"password": "hunter2"}}
    sent[17] = CapturedFrame(18, 18.0, OUT, "c1", orjson.dumps(secret))
    sent.append(CapturedFrame(41, 1.0, IN, "c1", b"not json at all"))
    one, many = tmp_path / "one" / name, tmp_path / "many" / name
    one.parent.mkdir()
    many.parent.mkdir()
    with RecordingWriter(one, "x") as w:
        for f in sent:
            w.write(f)
    with RecordingWriter(many, "x") as w:
        for k in range(0, len(sent), 8):
            w.write_many(iter(sent[k:k + 8]))
        w.write_many([])
    assert w.frames == len(sent)
    read = [gzip.decompress(p.read_bytes()) if name.endswith(".gz") else p.read_bytes() for p in (one, many)]
    assert [x.split(b"\n", 1)[1] for x in read] == [read[0].split(b"\n", 1)[1]] * 2  # same lines after the header
    assert b"hunter2" not in read[1] and read[1].count(b'"password":"***"') == 1


def test_write_many_rotates_inside_a_batch(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    sent = frames(300)
    with RecordingWriter(path, "ws://127.0.0.1:1", rotate_mb=0.01) as w:
        w.write_many(sent[:250])
        w.write_many(sent[250:])
    assert len(w.paths) >= 3
    for p in w.paths:
        assert p.stat().st_size < 0.01 * 1024 * 1024 + 1024
    with open_recording([path]) as rec:
        rec.wait()
        assert [rec.frame(i).seq for i in range(len(rec))] == list(range(1, 301))
