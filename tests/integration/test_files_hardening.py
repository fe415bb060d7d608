"""Files and filters hardening (issue 15): real files, real processes, no mocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.conftest import small_tmpfs

from busconsole.frames import CapturedFrame
from busconsole.recording.reader import open_recording
from busconsole.recording.writer import RecordingWriter, part_path
from busconsole.server.runner import ServerThread

CLI = [sys.executable, "-m", "busconsole.cli"]


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def frame(seq: int, text: str = "x", t: float | None = None) -> CapturedFrame:
    raw = orjson.dumps({"type": "QUERY", "entity": "partner", "id": f"r{seq}", "payload": {"text": text}})
    return CapturedFrame(seq, 1_700_000_000_000.0 + seq if t is None else t, "out", "c1", raw, False)


def write(path: Path, frames: list[CapturedFrame], **kw: object) -> RecordingWriter:
    with RecordingWriter(path, "ws://x", **kw) as w:  # type: ignore[arg-type]
        w.write_many(frames)
    return w


# ---------------------------------------------------------------- 1. no silent overwrite


def test_record_refuses_an_existing_file(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "rec.jsonl"
    out.write_bytes(b"precious\n")
    res = run("record", server.url, "-o", str(out), "--max-frames", "1", "--subscribe", "partner")
    assert res.returncode == 64, res.stderr
    assert "already exists" in res.stderr and "--force" in res.stderr and "Traceback" not in res.stderr
    assert out.read_bytes() == b"precious\n"


def test_record_refuses_leftover_parts(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "rec.jsonl"
    part_path(out, 3).write_bytes(b"old\n")
    res = run("record", server.url, "-o", str(out), "--max-frames", "1", "--rotate-mb", "1")
    assert res.returncode == 64, res.stderr
    assert "rotated part" in res.stderr


def test_record_force_removes_stale_parts(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "rec.jsonl"
    write(out, [frame(i, "o" * 2000) for i in range(2000)], rotate_mb=1)
    assert part_path(out, 2).exists()  # an old session of three parts
    res = run("record", server.url, "-o", str(out), "--force", "--rotate-mb", "1", "--subscribe", "partner",
              "--max-frames", "1")
    assert res.returncode == 0, res.stderr
    assert not part_path(out, 1).exists() and not part_path(out, 2).exists()
    with open_recording([out]) as rec:
        rec.wait()
        assert all(b'o' * 100 not in rec.line(i) for i in range(len(rec)))
        assert len(rec) >= 1


def test_replay_never_joins_parts_of_an_older_session(tmp_path: Path) -> None:
    out = tmp_path / "rec.jsonl"
    write(out, [frame(i, "old" * 700) for i in range(1500)], rotate_mb=1)
    assert part_path(out, 1).exists()
    # what a restart without --force did: part 0 overwritten, the old part 1 left behind
    write(out, [frame(i, "new", t=1_800_000_000_000.0 + i) for i in range(5)], rotate_mb=1)
    with open_recording([out]) as rec:
        rec.wait()
        texts = {json.loads(rec.line(i))["frame"]["payload"]["text"] for i in range(len(rec))}
        assert texts == {"new"} and len(rec) == 5
        assert any("another recording session" in p for p in rec.problems)


def test_record_append_adds_a_new_session(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "rec.jsonl"
    write(out, [frame(i, "first") for i in range(3)])
    res = run("record", server.url, "-o", str(out), "--append", "--subscribe", "partner", "--max-frames", "1")
    assert res.returncode == 0, res.stderr
    lines = out.read_bytes().splitlines()
    heads = [json.loads(x) for x in lines if x.startswith(b'{"busconsole"')]
    assert len(heads) == 2 and heads[0]["session"] != heads[1]["session"]
    with open_recording([out]) as rec:
        rec.wait()
        assert rec.problems == []
        assert len(rec) == len(lines) - 2  # every line but the two headers, none shown as malformed
        assert all(f.type != "MALFORMED" for f in rec)
    res = run("replay", str(out), "--print")
    assert res.returncode == 0, res.stderr
    assert all('"busconsole"' not in x for x in res.stdout.splitlines())
    res = run("record", server.url, "-o", str(out), "--append", "--rotate-mb", "1")
    assert res.returncode == 64 and "--rotate-mb" in res.stderr


# ---------------------------------------------------------------- 2. damaged gzip, temp files


def test_gzip_damaged_in_the_middle_keeps_the_frames_before(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl.gz"
    write(good, [frame(i, f"f{i}") for i in range(400)])
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = b"\xff" * 64  # damage in the middle of the deflate stream
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(bytes(data))
    with open_recording([bad]) as rec:
        rec.wait()
        kept = [f.seq for f in rec if f.type != "MALFORMED"]
        assert any("damaged" in p for p in rec.problems), rec.problems
    assert len(kept) >= 150  # before: nothing at all
    # every frame before the damage, in order (deflate notices damage a little late: the last
    # few frames before the damage point may come out garbled, as any inflater gives them)
    assert kept[:150] == list(range(150))
    res = run("replay", str(bad), "--print")
    assert len(res.stdout.splitlines()) >= 150
    assert "damaged" in res.stderr


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith("busconsole")]


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_killed_replay_leaves_no_temporary_file(tmp_path: Path, sig: str) -> None:
    import signal

    rec = tmp_path / "big.jsonl.gz"
    write(rec, [frame(i, "p" * 200) for i in range(20000)])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([*CLI, "replay", str(rec), "--print"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.read(1000)  # printing: the file is inflated and open; the pipe now blocks it
        proc.send_signal(getattr(signal, sig))
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _temps(tmp) == []


def test_demo_sigterm_leaves_no_temporary_folder(tmp_path: Path) -> None:
    import pty
    import select
    import signal

    parent, child = pty.openpty()
    env = {**os.environ, "TMPDIR": str(tmp_path), "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "45"}
    proc = subprocess.Popen([*CLI, "demo", "--frontends", "1"], stdin=child, stdout=child, stderr=child,
                            env=env, close_fds=True, start_new_session=True)
    os.close(child)
    seen = bytearray()

    def pump(until: float, done: object) -> None:
        deadline = time.monotonic() + until
        while time.monotonic() < deadline and not done():  # type: ignore[operator]
            ready, _, _ = select.select([parent], [], [], 0.1)
            if ready:
                try:
                    seen.extend(os.read(parent, 65536))
                except OSError:
                    time.sleep(0.05)
    try:
        pump(30, lambda: b"you are c1" in seen)
        assert list(tmp_path.glob("busconsole-demo-*")), seen[-2000:].decode(errors="replace")
        proc.send_signal(signal.SIGTERM)
        pump(20, lambda: proc.poll() is not None)
        assert proc.poll() is not None, "still running after SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(parent)
    assert list(tmp_path.glob("busconsole-demo-*")) == []


# ---------------------------------------------------------------- 4. oversize payload, deep TOML


def test_send_refuses_a_payload_over_100_mib(server: ServerThread, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"blob": "' + "x" * (101 * 2**20) + '"}')
    res = run("send", server.url, "MUTATION", "partner", "--operation", "CREATE", "--payload", f"@{big}", "--yes",
              timeout=120)
    assert res.returncode == 64, res.stderr[-2000:]
    assert "MiB" in res.stderr and "Traceback" not in res.stderr


def test_a_toml_profile_nested_100k_deep_is_a_usage_error(server: ServerThread, tmp_path: Path) -> None:
    home = tmp_path / "cfg"
    (home / "busconsole").mkdir(parents=True)
    (home / "busconsole" / "config.toml").write_text("[profiles.deep]\nurl = " + "[" * 100_000 + "]" * 100_000 + "\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}
    res = subprocess.run([*CLI, "send", server.url, "QUERY", "partner", "--profile", "deep"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 64, res.stderr[-2000:]
    assert "nested too deeply" in res.stderr and "RecursionError" not in res.stderr


# ---------------------------------------------------------------- 5. disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "small") as where:
        yield where


def test_record_on_a_full_disk_prints_one_line_and_exits_1(server: ServerThread, small_disk: Path,
                                                          bus_client: object) -> None:
    out = small_disk / "rec.jsonl"
    proc = subprocess.Popen([*CLI, "record", server.url, "-o", str(out), "--subscribe", "partner"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        client = bus_client(server.url)  # type: ignore[operator]
        for i in range(200):
            client.send({"type": "MUTATION", "entity": "partner", "operation": "UPDATE",
                         "requestId": f"fill{i}", "payload": {"id": 2, "notes": "n" * 2000}})
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    errors = [x for x in err.splitlines() if "error" in x]
    assert len(errors) == 1 and "No space left" in errors[0], err
