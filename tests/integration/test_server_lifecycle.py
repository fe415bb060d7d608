"""Stopping, restarting and persisting the reference server; the `serve` command; simulated frontends."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from websockets.exceptions import ConnectionClosed

from busconsole.commands.serve import _is_loopback
from busconsole.server.app import ReferenceServer
from busconsole.server.runner import ServerThread
from busconsole.server.simulate import MISSING_ID, Pace, run_frontends

if TYPE_CHECKING:
    from tests.conftest import BusClient

Open = Callable[[str], "BusClient"]
UPDATE = {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": 2, "status": "MAINTENANCE"}}
READ = {"type": "QUERY", "entity": "compute", "payload": {"kind": "compute", "criteria": {"id": 2}}, "requestId": "r"}


def test_restart_drops_clients_keeps_port_and_data(server: ServerThread, bus_client: Open) -> None:
    port = server.port
    before = bus_client(server.url)
    assert before.request(UPDATE)["type"] == "MUTATION_SUCCESS"
    server.restart()
    with pytest.raises(ConnectionClosed):
        before.recv(timeout=5)
    assert server.port == port
    after = bus_client(server.url)
    assert after.request(READ)["data"]["data"][0]["status"] == "MAINTENANCE"
    assert server.received == [json.dumps(UPDATE), json.dumps(READ)]  # received spans restarts


async def test_async_clients_see_the_restart_and_can_reconnect(server: ServerThread) -> None:
    from websockets.asyncio.client import connect

    async with connect(server.url) as ws:
        assert json.loads(await ws.recv())["type"] == "CONNECTION"
        await asyncio.to_thread(server.restart)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    async with connect(server.url) as ws:
        assert json.loads(await ws.recv())["type"] == "CONNECTION"
        await ws.send(json.dumps(READ))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "QUERY_RESULT"


def test_push_streams_frames_to_subscribers_only(server: ServerThread, bus_client: Open) -> None:
    subscriber, other = bus_client(server.url), bus_client(server.url)
    subscriber.request({"type": "SUBSCRIBE", "entity": "compute"})
    frames = (json.dumps({"type": "STORE_UPDATE", "entity": "compute", "data": {"n": i}}) for i in range(300))
    assert server.push("compute", frames) == 300
    assert [subscriber.recv()["data"]["n"] for _ in range(300)] == list(range(300))
    assert other.request(READ)["type"] == "QUERY_RESULT"  # nothing was pushed to the other client


def test_file_database_persists_across_servers(tmp_path: Path, bus_client: Open) -> None:
    db = tmp_path / "store.db"
    with ServerThread(ReferenceServer(db=db, seed_demo=True)) as first:
        assert bus_client(first.url).request(UPDATE)["type"] == "MUTATION_SUCCESS"
        rows = first.store.count()
    with ServerThread(ReferenceServer(db=db, seed_demo=True)) as second:  # seeding leaves a non-empty store alone
        assert second.store.count() == rows
        assert bus_client(second.url).request(READ)["data"]["data"][0]["status"] == "MAINTENANCE"


def test_wait_for_received(server: ServerThread, bus_client: Open) -> None:
    bus_client(server.url).send({"type": "SUBSCRIBE", "entity": "cloud"})
    assert len(server.wait_for_received(1)) == 1
    with pytest.raises(TimeoutError, match="received 1 frames, expected 2"):
        server.wait_for_received(2, timeout=0.2)


def test_serve_command_answers_and_stops_on_sigterm(tmp_path: Path, bus_client: Open) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "busconsole.cli", "serve", "--port", "0", "--db", str(tmp_path / "s.db"), "--seed-demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"listening on (ws://127\.0\.0\.1:\d+/store-debug)", line)
        assert found, line
        client = bus_client(found.group(1))
        reply = client.request({"type": "QUERY", "entity": "partner", "requestId": "req_1_x"})
        assert reply["type"] == "QUERY_RESULT" and reply["requestId"] == "req_1_x"
        assert len(reply["data"]["data"]) == 5
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    assert out == ""  # stdout is for data only
    assert "stopping" in err


@pytest.mark.parametrize(
    ("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("example.org", False)]
)
def test_non_loopback_hosts_are_recognised_for_the_warning(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


def test_simulated_frontends_speak_like_the_framework_and_stop_with_the_server(tmp_path: Path) -> None:
    srv = ServerThread(ReferenceServer(seed_demo=True, log_dir=tmp_path)).start()
    pace = Pace(think=(0.005, 0.02), log_every=0.2, batch=5)
    tabs = threading.Thread(target=lambda: asyncio.run(run_frontends(srv.url, 2, pace, seed=3)))
    tabs.start()
    try:
        wanted = {"SUBSCRIBE", "QUERY", "MUTATION", "CONSOLE_LOGS"}
        frames: list[dict[str, object]] = []
        for n in range(20, 400, 20):  # bounded: at most ~400 frames
            frames = [json.loads(f) for f in srv.wait_for_received(n, timeout=10)]
            failing = [f for f in frames if f["type"] == "MUTATION" and (f["entity"] != "compute" or f["payload"]["id"] == MISSING_ID)]  # type: ignore[index]
            if wanted <= {str(f["type"]) for f in frames} and failing:
                break
        types = Counter(str(f["type"]) for f in frames)
        assert wanted <= set(types) and failing, types
        assert types["SUBSCRIBE"] == 6
        for f in frames:
            if f["type"] == "QUERY":
                assert f["query"] == f["payload"] and re.fullmatch(r"req_\d{13}_[0-9a-f]+", str(f["requestId"]))
        logs = [f for f in frames if f["type"] == "CONSOLE_LOGS"]
        assert all(f["metadata"]["source"] == "frontend" for f in logs)  # type: ignore[index]
    finally:
        srv.close()
        tabs.join(10)
    assert not tabs.is_alive(), "simulated frontends kept running after the server stopped"
    written = [json.loads(line) for p in tmp_path.glob("console-logs-*.jsonl") for line in p.read_text().splitlines()]
    assert written and {m["level"] for m in written} <= {"log", "info", "warn", "error"}
    assert all("stackTrace" in m for m in written if m["level"] == "error")


def wait_for_subscribes(srv: ServerThread, n: int) -> None:
    """Until the server has received ``n`` SUBSCRIBE frames in all (bounded: 400 frames)."""
    for count in range(n, 400):
        frames = srv.wait_for_received(count, timeout=10)
        if sum(json.loads(f)["type"] == "SUBSCRIBE" for f in frames) >= n:
            return
    raise AssertionError(f"fewer than {n} SUBSCRIBE frames in the first 400")


def test_a_server_with_simulate_starts_its_frontends_on_every_start() -> None:
    srv = ServerThread(ReferenceServer(seed_demo=True, simulate=2)).start()
    try:
        wait_for_subscribes(srv, 6)  # each frontend subscribes to three entities first
        srv.stop()
        assert srv.clients == 0
        srv.start()
        wait_for_subscribes(srv, 12)
    finally:
        srv.close()
