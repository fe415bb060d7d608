"""--server-logs: the frontends' console logs in a live session without a proxy, followed from the
store server's log folder (files that appear and files that grow)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from tests.conftest import until
from websockets.sync.client import connect

from busconsole.recording.follow import FolderFollower
from busconsole.sessions.live import LiveSession


def send_console_logs(url: str, message: str) -> None:
    with connect(url) as ws:
        ws.recv()  # CONNECTION
        ws.send(json.dumps({"type": "CONSOLE_LOGS", "messages": [
            {"level": "error", "message": message, "timestamp": time.time() * 1000}],
            "metadata": {"source": "frontend", "sessionId": "tab-7"}}))
        ws.recv()  # CONSOLE_LOGS_ACK: the server has written it


def test_the_follower_hands_out_new_and_grown_files_only(tmp_path: Path) -> None:
    old = tmp_path / "store-events-1.jsonl"
    old.write_bytes(orjson.dumps({"type": "console", "operation": "CONSOLE_LOGS", "messages": [
        {"level": "log", "message": "history"}], "timestamp": 1}) + b"\n")
    follower = FolderFollower(tmp_path, itertools.count(1).__next__)
    assert follower.poll() == []  # what was there is history, for replay
    grown = tmp_path / "console-logs-2026-11-29.jsonl"
    grown.write_bytes(orjson.dumps({"level": "warn", "message": "one", "timestamp": 5, "sessionId": "tab-1"}) + b"\n"
                      + b'{"level": "error", "mess')  # a line still being written waits
    (tmp_path / "compute").mkdir()
    (tmp_path / "compute" / "history.jsonl").write_bytes(
        orjson.dumps({"type": "QUERY", "query": {"kind": "compute"}, "timestamp": 3, "stateBefore": {}}) + b"\n")
    frames = follower.poll()
    assert [(f.type, f.conn, f.t) for f in frames] == [("QUERY", "compute", 3.0), ("CONSOLE_LOGS", "tab-1", 5.0)]
    with grown.open("ab") as fh:
        fh.write(b'age": "two", "timestamp": 6}\n')
    again = follower.poll()
    assert [(f.type, f.obj["messages"][0]["message"]) for f in again] == [("CONSOLE_LOGS", "two")]  # type: ignore[index]
    assert follower.poll() == []


async def test_connect_with_server_logs_shows_console_logs_without_a_proxy(server: Any, tmp_path: Path) -> None:
    logs = tmp_path / "server-logs"
    logs.mkdir(exist_ok=True)
    session = LiveSession(server.url, record=False, server_logs=logs)
    await session.start()
    try:
        await until(lambda: session.status.phase == "connected", "the connection")
        import asyncio

        await asyncio.to_thread(send_console_logs, server.url, "boom from a frontend")
        await until(lambda: session.store.values("type").get("CONSOLE_LOGS"), "the console batch", timeout=10)
        i = session.store.positions("type", "CONSOLE_LOGS")[0]
        facts = session.store.facts(i)
        assert facts.conn == "tab-7" and "error" in facts.levels
        assert b"boom from a frontend" in session.store.frame(i).raw
    finally:
        await session.stop()


def test_tail_json_with_server_logs_prints_the_console_batch(server: Any, tmp_path: Path) -> None:
    logs = tmp_path / "server-logs"
    logs.mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "busconsole.cli", "tail", server.url, "--json", "--count", "1",
                             "--server-logs", str(logs), "--filter", "type:CONSOLE_LOGS"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            send_console_logs(server.url, "tail sees this")
            try:
                out, _ = proc.communicate(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            out = proc.stdout.read() if proc.stdout else b""
    finally:
        proc.kill()
    line = orjson.loads(out.splitlines()[0])
    assert line["frame"]["type"] == "CONSOLE_LOGS" and line["conn"] == "tab-7"
    assert line["frame"]["messages"][0]["message"] == "tail sees this"
