"""`replay --to URL --check` as a CI step: --ignore paths (with wildcards) shown in the report,
and SUBSCRIBE's SUBSCRIPTION_DATA compared too, against a real reference server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.writer import RecordingWriter
from busconsole.server.runner import ServerThread

CLI = [sys.executable, "-m", "busconsole.cli", "replay"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


def record(server: ServerThread, path: Path, bus_client: Any) -> dict[str, Any]:
    """An UPDATE (its reply carries a fresh updatedAt), a QUERY and a SUBSCRIBE, recorded as they
    went both ways; returns the recorded SUBSCRIPTION_DATA."""
    client = bus_client(server.url)
    requests = [
        {"type": "MUTATION", "entity": "partner", "operation": "UPDATE",
         "payload": {"id": 2, "displayName": "Recorded Corp"}, "requestId": "old-0"},
        {"type": "QUERY", "entity": "partner", "payload": {"kind": "partner", "page": {"limit": 3}},
         "requestId": "old-1"},
        {"type": "SUBSCRIBE", "entity": "compute"},
    ]
    reply: dict[str, Any] = {}
    with RecordingWriter(path, server.url) as w:
        for i, frame in enumerate(requests):
            client.send(frame)
            w.write(CapturedFrame(2 * i + 1, 1000.0 + i, OUT, "c1", orjson.dumps(frame)))
            reply = client.recv()
            w.write(CapturedFrame(2 * i + 2, 1000.5 + i, IN, "c1", orjson.dumps(reply)))
    assert reply["type"] == "SUBSCRIPTION_DATA"
    return reply


def test_check_ignores_the_paths_it_is_told_to_and_says_which(
    server: ServerThread, tmp_path: Path, bus_client: Any
) -> None:
    path = tmp_path / "s.jsonl"
    record(server, path, bus_client)

    strict = run(str(path), "--to", server.url, "--yes", "--check", "--pace", "ack")
    assert strict.returncode == 1, strict.stdout + strict.stderr  # updatedAt is new on every UPDATE
    assert "differs: data.updatedAt:" in strict.stdout

    ok = run(str(path), "--to", server.url, "--yes", "--check", "--pace", "ack", "--ignore", "*.updatedAt")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0].startswith("sent #0 MUTATION partner UPDATE old-0 -> req_") and "MUTATION_SUCCESS" in lines[0]
    assert lines[1] == "  ignored: data.updatedAt"
    assert "differs" not in ok.stdout
    assert "SUBSCRIBE compute: SUBSCRIPTION_DATA" in ok.stdout  # subscriptions are replayed and checked
    assert "*.updatedAt" in ok.stderr and "timestamp" in ok.stderr  # the report names what it left out

    several = run(str(path), "--to", server.url, "--yes", "--check", "--pace", "ack",
                  "--ignore", "data.updatedAt", "--ignore", "data.data[*].updatedAt")
    assert several.returncode == 0, several.stdout + several.stderr
    assert "data.updatedAt" in several.stderr and "data.data[*].updatedAt" in several.stderr


def test_check_compares_subscription_data(server: ServerThread, tmp_path: Path, bus_client: Any) -> None:
    path = tmp_path / "s.jsonl"
    recorded = record(server, path, bus_client)
    rows = recorded["data"]["data"]
    assert rows, recorded
    target = rows[0]
    bus_client(server.url).request({"type": "MUTATION", "entity": "compute", "operation": "UPDATE",
                                    "payload": {"id": target["id"], "name": "Renamed-Host"}, "requestId": "x"})
    bad = run(str(path), "--to", server.url, "--yes", "--check", "--pace", "ack", "--ignore", "*.updatedAt")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    after_subscribe = bad.stdout.split("SUBSCRIBE compute: SUBSCRIPTION_DATA", 1)[1]
    assert f'differs: data.data[0].name: {orjson.dumps(target["name"]).decode()} -> "Renamed-Host"' in after_subscribe


def test_ignore_without_check_is_bad_usage(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(orjson.dumps({"type": "QUERY", "entity": "partner", "timestamp": 1}) + b"\n")
    done = run(str(path), "--to", "ws://127.0.0.1:9/", "--yes", "--ignore", "*.updatedAt")
    assert done.returncode == 64 and "add --check" in done.stderr
