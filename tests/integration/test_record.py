"""Recording from the real reference server: in-process round trip and the `record` command."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from busconsole.frames import CapturedFrame
from busconsole.protocol import build_mutation, build_query
from busconsole.recording.reader import open_recording
from busconsole.recording.redact import Redactor
from busconsole.recording.writer import RecordingWriter
from busconsole.server.runner import ServerThread
from busconsole.transport.client import BusClient

CLI = [sys.executable, "-m", "busconsole.cli"]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def frames_in(path: Path) -> list[dict[str, Any]]:
    lines = path.read_bytes().splitlines()
    return [orjson.loads(x) for x in lines[1:]]


async def test_round_trip_frames_read_back_identical(server: ServerThread, tmp_path: Path) -> None:
    path = tmp_path / "rt.jsonl"
    seen: list[CapturedFrame] = []
    writer = RecordingWriter(path, server.url)

    def keep(frame: CapturedFrame) -> None:
        seen.append(frame)
        writer.write(frame)

    client = BusClient(server.url, subscribe=("partner",), on_frame=keep)
    import asyncio

    runner = asyncio.create_task(client.run())
    await client.wait_connected(5)
    await client.request(build_query("partner", {"kind": "partner", "page": {"limit": 3}}), 5)
    await client.request(build_mutation("partner", "UPDATE", {"id": 2, "country": "Chile"}), 5)
    await client.request(build_query("compute", {"kind": "compute", "criteria": {"status": "ACTIVE"}}), 5)
    await client.send("not json {")
    await client.request(build_query("partner", {"kind": "partner"}), 5)
    await client.close()
    await runner
    writer.close()
    assert len(seen) >= 10
    with open_recording([path]) as rec:
        rec.wait()
        assert rec.problems == []
        back = list(rec)
    assert [(f.seq, f.t, f.dir, f.conn, f.raw, f.binary) for f in back] == [
        (f.seq, f.t, f.dir, f.conn, f.raw, f.binary) for f in seen]
    assert {"QUERY", "QUERY_RESULT", "MUTATION_SUCCESS", "STORE_UPDATE", "ERROR", "MALFORMED"} <= {
        f.type for f in back}


def test_record_command_until_sigterm(server: ServerThread, tmp_path: Path, bus_client: Any) -> None:
    out = tmp_path / "cli.jsonl"
    secret = "tok-1234567890"
    proc = subprocess.Popen([*CLI, "record", server.url, "-o", str(out), "--subscribe", "partner",
                             "--token", secret], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: out.exists() and b"SUBSCRIPTION_DATA" in out.read_bytes())
        watcher = bus_client(server.url)
        watcher.request({"type": "SUBSCRIBE", "entity": "partner"})
        writer = bus_client(server.url)
        writer.send({"type": "MUTATION", "entity": "partner", "operation": "UPDATE",
                     "payload": {"id": 3, "country": "Peru", "password": "pw-in-payload"}, "requestId": "m1"})
        reply = writer.recv()
        broadcast = watcher.recv()
        assert reply["type"] == "MUTATION_SUCCESS" and broadcast["type"] == "STORE_UPDATE"
        wait_for(lambda: b"STORE_UPDATE" in out.read_bytes())
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    assert stdout == b""  # stdout is data only; progress goes to stderr
    assert b"frames" in stderr
    data = out.read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert secret.encode() not in data and secret.encode() not in stderr
    header = json.loads(data.splitlines()[0])
    assert header["version"] == 1 and header["source"] == server.url
    recs = frames_in(out)
    updates = [r["frame"] for r in recs if r.get("frame", {}).get("type") == "STORE_UPDATE"]
    assert b"pw-in-payload" in orjson.dumps(broadcast)  # the server echoes the row it stored...
    assert b"pw-in-payload" not in data  # ...but the recording masks it
    assert updates == [Redactor().redact_obj(broadcast)]
    assert [r["seq"] for r in recs] == sorted(r["seq"] for r in recs)


def test_record_max_frames_and_filter(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "few.jsonl.gz"
    done = subprocess.run([*CLI, "record", server.url, "-o", str(out), "--subscribe", "partner",
                           "--subscribe", "compute", "--filter", "type:SUBSCRIPTION_DATA",
                           "--max-frames", "2", "--duration", "20"], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    with open_recording([out]) as rec:
        rec.wait()
        assert [f.type for f in rec] == ["SUBSCRIPTION_DATA", "SUBSCRIPTION_DATA"]


def test_record_unreachable_server_exits_2(tmp_path: Path) -> None:
    from tests.conftest import free_port  # type: ignore[import-not-found]

    out = tmp_path / "none.jsonl"
    done = subprocess.run([*CLI, "record", f"ws://127.0.0.1:{free_port()}/x", "-o", str(out),
                           "--duration", "1.5"], capture_output=True, timeout=60)
    assert done.returncode == 2, done.stderr
