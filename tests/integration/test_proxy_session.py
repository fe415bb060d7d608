"""`ProxySession` (what the TUI shows) and the `busconsole proxy --no-tui` command, against
the reference server on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect

from busconsole.filtering import parse_filter
from busconsole.recording.reader import open_recording
from busconsole.server.runner import ServerThread
from busconsole.sessions.base import CannotSendError, Session
from busconsole.sessions.proxy import ProxySession

pytestmark = pytest.mark.timeout(60)
WAIT = 10.0


async def test_session_pairs_per_connection_and_filters_by_conn(server: ServerThread, tmp_path: Path) -> None:
    """Two frontends use the same requestId: each reply pairs with its own connection's query."""
    record = tmp_path / "tap.jsonl"
    session = ProxySession(server.url, port=0, record=record)
    assert isinstance(session, Session) and not session.can_send and session.read_only
    await session.start()
    try:
        url = f"ws://127.0.0.1:{session.tap.port}/store-debug"
        async with connect(url) as a, connect(url) as b:
            for ws in (a, b):
                await asyncio.wait_for(ws.recv(), WAIT)  # CONNECTION
            await b.send('{"type":"QUERY","entity":"partner","payload":{"kind":"partner"},"requestId":"same"}')
            assert orjson.loads(await asyncio.wait_for(b.recv(), WAIT))["requestId"] == "same"
            await a.send('{"type":"QUERY","entity":"partner","payload":{"kind":"partner"},"requestId":"same"}')
            assert orjson.loads(await asyncio.wait_for(a.recv(), WAIT))["requestId"] == "same"
        with pytest.raises(CannotSendError):
            await session.send({"type": "QUERY", "entity": "partner"})
    finally:
        await session.stop()
    store = session.store
    queries = list(store.positions("type", "QUERY"))
    results = list(store.positions("type", "QUERY_RESULT"))
    assert len(queries) == len(results) == 2
    for q in queries:
        pair = store.pairing.pair_of(q)
        assert pair is not None and store.facts(pair.reply).conn == store.facts(q).conn
    c2 = parse_filter("conn:c2").select(store)
    assert c2 and all(store.facts(i).conn == "c2" for i in c2)
    assert {store.facts(i).type for i in c2} >= {"PROXY_OPEN", "CONNECTION", "QUERY", "QUERY_RESULT", "PROXY_CLOSE"}
    st = session.status
    assert (st.phase, st.frames_out, st.frames_in, st.skipped) == ("closed", 2, 4, 0)
    assert st.recording_path == record and st.recording_bytes == record.stat().st_size
    with open_recording([record], background=False) as rec:
        assert len(rec) == len(store)  # 6 frames + 2 opens + 2 closes


def _start_cli(tmp_path: Path, upstream: str, *extra: str) -> tuple[subprocess.Popen[str], int]:
    """``busconsole proxy --no-tui`` on a free port; returns once it says it is listening."""
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "busconsole.cli", "proxy", "--no-tui", "--listen", "127.0.0.1:0",
         "--upstream", upstream, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # "busconsole: proxy 127.0.0.1:PORT → ws://…; recording to …"
    assert "proxy 127.0.0.1:" in first, first + proc.stderr.read()
    port = int(first.split("proxy 127.0.0.1:", 1)[1].split()[0])
    return proc, port


async def _one_query(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/store-debug") as ws:
        await asyncio.wait_for(ws.recv(), WAIT)
        await ws.send('{"type":"QUERY","entity":"partner","payload":{"kind":"partner"},"requestId":"cli"}')
        await asyncio.wait_for(ws.recv(), WAIT)


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> tuple[str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=WAIT)
    return out, err


async def test_cli_headless_logs_filtered_lines_records_all_and_stops_on_sigint(
    server: ServerThread, tmp_path: Path
) -> None:
    record = tmp_path / "cli.jsonl"
    proc, port = _start_cli(tmp_path, server.url, "--record", str(record), "--filter", "type:QUERY_RESULT")
    try:
        await _one_query(port)
    finally:
        out, err = _stop(proc, signal.SIGINT)
    assert proc.returncode == 0, err
    assert out == ""  # stdout is data only; the proxy has none
    lines = [ln for ln in err.splitlines() if not ln.startswith("busconsole:")]
    assert len(lines) == 1 and "QUERY_RESULT" in lines[0] and "cli" in lines[0]
    assert "1 connections, 1 frames out, 2 in" in err
    with open_recording([record], background=False) as rec:
        kinds = [rec.frame(i).type for i in range(len(rec))]
    assert kinds == ["PROXY_OPEN", "CONNECTION", "QUERY", "QUERY_RESULT", "PROXY_CLOSE"]
    assert (record.stat().st_mode & 0o777) == 0o600


async def test_cli_quiet_logs_nothing_per_frame_and_stops_on_sigterm(server: ServerThread, tmp_path: Path) -> None:
    record = tmp_path / "quiet.jsonl"
    proc, port = _start_cli(tmp_path, server.url, "--record", str(record), "--quiet")
    try:
        await _one_query(port)
    finally:
        out, err = _stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert out == "" and all(ln.startswith("busconsole:") for ln in err.splitlines())
    with open_recording([record], background=False) as rec:
        assert len(rec) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "nowhere"], "expected HOST:PORT"),
        (["--upstream", "http://x"], "expected ws://"),
        (["--filter", "type:(("], "--filter"),
    ],
)
def test_cli_bad_usage_exits_64(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "busconsole.cli", "proxy", "--no-tui", "--no-record", *args],
        capture_output=True, text=True, timeout=WAIT,
    )
    assert done.returncode == 64 and message in done.stderr and done.stdout == ""


def test_cli_port_in_use_exits_2(server: ServerThread) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "busconsole.cli", "proxy", "--no-tui", "--no-record",
         "--listen", f"127.0.0.1:{server.port}", "--upstream", server.url],
        capture_output=True, text=True, timeout=WAIT,
    )
    assert done.returncode == 2 and "error:" in done.stderr
