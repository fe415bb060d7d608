"""`busconsole replay`: --print, --stats and --to (dry run, --check) against the reference server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import fixture_total

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.writer import RecordingWriter
from busconsole.server.runner import ServerThread

CLI = [sys.executable, "-m", "busconsole.cli", "replay"]


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], capture_output=True, timeout=60)


def record_session(server: ServerThread, path: Path, bus_client: Any) -> None:
    """Queries through a real connection, written as a recording of what went both ways."""
    client = bus_client(server.url)
    with RecordingWriter(path, server.url) as w:
        seq = 0
        for i, query in enumerate([{"kind": "partner", "page": {"limit": 3}},
                                   {"kind": "compute", "criteria": {"status": "ACTIVE"}, "page": {"limit": 5}},
                                   {"kind": "partner", "criteria": {"name": "acme"}}]):
            frame = {"type": "QUERY", "entity": query["kind"], "payload": query, "requestId": f"old-{i}"}
            client.send(frame)
            seq += 1
            w.write(CapturedFrame(seq, 1000.0 + i, OUT, "c1", orjson.dumps(frame)))
            reply = client.recv()
            seq += 1
            w.write(CapturedFrame(seq, 1000.5 + i, IN, "c1", orjson.dumps(reply)))


def test_print_filter_and_pretty(tmp_path: Path, fixtures_dir: Path) -> None:
    done = run(str(fixtures_dir), "--print", "--filter", "level:error")
    assert done.returncode == 0, done.stderr
    lines = [orjson.loads(x) for x in done.stdout.splitlines()]
    assert lines and all(any(m["level"] == "error" for m in r["frame"]["messages"]) for r in lines)
    every = run(str(fixtures_dir))  # stdout is a pipe: --print is implied
    assert every.returncode == 0 and len(every.stdout.splitlines()) == fixture_total(fixtures_dir)
    pretty = run(str(fixtures_dir), "--format", "pretty", "--filter", "type:QUERY")
    assert pretty.returncode == 0 and pretty.stdout.count(b"QUERY") >= 22 and not pretty.stdout.startswith(b"{")


def test_print_reports_damage_on_stderr_and_refuses_bad_filter(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with RecordingWriter(path, "ws://127.0.0.1:1") as w:
        w.write(CapturedFrame(1, 1.0, OUT, "c1", b'{"type":"QUERY","entity":"a"}'))
    with open(path, "ab") as f:
        f.write(b"garbage\n")
    done = run(str(path), "--print")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
    assert b"r.jsonl:3: skipped" in done.stderr
    assert run(str(path), "--print", "--filter", "type:(").returncode == 64
    assert run(str(tmp_path / "missing.jsonl"), "--print").returncode == 2


# `busconsole replay FILE --print` runs without building the typer app; the same arguments
# through the typer command must give the same bytes, messages and exit code.
_WATCH = ("import atexit, sys; atexit.register(lambda: sys.stderr.write("
          "'[typer app built]' if 'busconsole.commands.proxy' in sys.modules else '[fast path]')); ")
FAST = [sys.executable, "-c", _WATCH + "from busconsole.cli import main; main(sys.argv[1:])", "replay"]
TYPER = [sys.executable, "-c", _WATCH + "from busconsole.cli import app; app(sys.argv[1:], 'busconsole')", "replay"]


@pytest.mark.parametrize(("args", "fast"), [
    (["{rec}", "--print", "--filter", "level:error"], True),
    (["--filter=level:error", "{rec}", "{rec}"], True),  # stdout is a pipe: --print is implied
    (["{rec}", "--format", "pretty", "-f", "type:QUERY"], True),
    (["{rec}", "--format=jsonl", "--print", "--filter", ""], True),
    (["{damaged}", "--print"], True),
    (["{rec}", "--print", "--filter", "type:("], True),
    (["{tmp}/missing.jsonl", "--print"], True),
    (["{tmp}/missing.jsonl", "--print", "-f", "type:("], True),
    (["{rec}", "-f=level:error", "--print"], False),  # shapes the fast path leaves to typer
    (["{rec}", "--print", "--filter"], False),
    (["{rec}", "--print", "--filter", "-level:error"], False),
    (["{rec}", "--print", "--format", "yaml"], False),
    (["{rec}", "--print", "--print"], False),
    (["--print", "--filter", "level:error"], False),
    (["{rec}", "--print", "--stats"], False),
    (["{rec}", "--help"], False),
])
def test_fast_path_is_the_typer_command(tmp_path: Path, args: list[str], fast: bool) -> None:
    rec, damaged = tmp_path / "r.jsonl", tmp_path / "d.jsonl"
    with RecordingWriter(rec, "ws://127.0.0.1:1") as w:
        for i, frame in enumerate([{"type": "QUERY", "entity": "a"}, {"type": "CONSOLE_LOGS", "messages": [
                {"level": "Error", "message": "boom"}]}, {"type": "QUERY_RESULT", "entity": "a", "data": []}]):
            w.write(CapturedFrame(i + 1, 1.0 + i, OUT, "c1", orjson.dumps(frame)))
    damaged.write_bytes(rec.read_bytes() + b"garbage\n" + rec.read_bytes().splitlines(True)[1])
    argv = [a.format(rec=rec, damaged=damaged, tmp=tmp_path) for a in args]
    ours = subprocess.run([*FAST, *argv], capture_output=True, timeout=60)
    typer = subprocess.run([*TYPER, *argv], capture_output=True, timeout=60)
    assert ours.stderr.endswith(b"[fast path]" if fast else b"[typer app built]"), ours.stderr
    assert typer.stderr.endswith(b"[typer app built]")
    assert (ours.returncode, ours.stdout, ours.stderr.rsplit(b"[", 1)[0]) == (
        typer.returncode, typer.stdout, typer.stderr.rsplit(b"[", 1)[0])


def test_stats(server: ServerThread, tmp_path: Path, bus_client: Any) -> None:
    path = tmp_path / "s.jsonl"
    record_session(server, path, bus_client)
    done = run(str(path), "--stats")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "frames: 6" in text and "QUERY_RESULT" in text and "partner" in text
    assert "QUERY partner" in text and "n=2" in text


def test_to_is_a_dry_run_without_yes(server: ServerThread, tmp_path: Path, bus_client: Any) -> None:
    path = tmp_path / "s.jsonl"
    record_session(server, path, bus_client)
    before = len(server.received)
    done = run(str(path), "--to", server.url)
    assert done.returncode == 0, done.stderr
    plan = done.stdout.decode().splitlines()
    assert len(plan) == 3 and all(p.startswith("plan #") and "old-" in p and "-> req_" in p for p in plan)
    assert len(server.received) == before


@pytest.mark.parametrize("pace", ["ack", "fast", "original"])
def test_to_check_passes_then_fails_with_a_readable_diff(
    server: ServerThread, tmp_path: Path, bus_client: Any, pace: str
) -> None:
    path = tmp_path / "s.jsonl"
    record_session(server, path, bus_client)
    ok = run(str(path), "--to", server.url, "--yes", "--check", "--pace", pace, "--speed", "100")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    out = ok.stdout.decode().splitlines()
    assert len(out) == 3 and all("QUERY_RESULT" in x and "old-" in x for x in out)
    sent = [orjson.loads(r) for r in server.received[-3:]]
    assert all(f["requestId"].startswith("req_") for f in sent)  # fresh ids, not the recorded ones

    bus_client(server.url).request({"type": "MUTATION", "entity": "partner", "operation": "UPDATE",
                                    "payload": {"id": 2, "displayName": "Changed Corp"}, "requestId": "x"})
    bad = run(str(path), "--to", server.url, "--yes", "--check", "--pace", pace, "--speed", "100")
    assert bad.returncode == 1
    text = bad.stdout.decode()
    assert 'differs: data.data[1].displayName: "ACME Corporation" -> "Changed Corp"' in text


def test_to_unreachable_exits_2(tmp_path: Path, server: ServerThread, bus_client: Any) -> None:
    from tests.conftest import free_port  # type: ignore[import-not-found]

    path = tmp_path / "s.jsonl"
    record_session(server, path, bus_client)
    done = run(str(path), "--to", f"ws://127.0.0.1:{free_port()}/", "--yes", "--timeout", "3")
    assert done.returncode == 2, done.stderr
