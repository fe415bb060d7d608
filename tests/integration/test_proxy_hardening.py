"""The proxy under abuse: failed handshakes, a blocked stderr, a flooding client.

Real reference server on a free loopback port, real sockets, no mocks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from busconsole.recording.writer import RecordingWriter
from busconsole.server.runner import ServerThread
from busconsole.transport.proxy import ProxyTap
from busconsole.transport.proxy_capture import Capture, Recorder

pytestmark = pytest.mark.timeout(60)
WAIT = 10.0


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _bad_upgrade(port: int, request: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    await asyncio.wait_for(reader.read(), WAIT)  # the proxy answers and hangs up
    writer.close()
    await writer.wait_closed()


async def _hang_up_mid_handshake(port: int) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_upgrade(key="dGhlIHNhbXBsZSBub25jZQ=="))
    await writer.drain()
    writer.transport.abort()  # gone before the proxy answers


def _upgrade(*, key: str | None = "dGhlIHNhbXBsZSBub25jZQ==", version: str = "13") -> bytes:
    lines = ["GET /store-debug HTTP/1.1", "Host: x", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Version: {version}"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_failed_handshakes_leave_no_upstream_open(server: ServerThread, tmp_path: Path) -> None:
    """50 bad upgrades (no key, bad key, wrong version, hang-up mid-handshake): the proxy
    process (proxy and upstream server share it here) is back near its fd baseline."""
    recorder = Recorder(RecordingWriter(tmp_path / "p.jsonl", "proxy"))
    proxy = ProxyTap(server.url, Capture(recorder), port=0)
    await proxy.start()
    try:
        async with connect(f"ws://127.0.0.1:{proxy.port}/store-debug") as ws:  # warm up both sides
            await asyncio.wait_for(ws.recv(), WAIT)
        await asyncio.sleep(0.2)
        baseline = _fds()
        bad = [_upgrade(key=None), _upgrade(key="short"), _upgrade(version="8")]
        for i in range(50):
            if i % 4 == 3:
                await _hang_up_mid_handshake(proxy.port)
            else:
                await _bad_upgrade(proxy.port, bad[i % 4])
        deadline = time.monotonic() + 3.0
        while _fds() > baseline + 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert _fds() <= baseline + 5, f"{_fds() - baseline} fds more than before 50 failed handshakes"
        assert not proxy._opening
        async with connect(f"ws://127.0.0.1:{proxy.port}/store-debug") as ws:  # still serving
            assert "CONNECTION" in await asyncio.wait_for(ws.recv(), WAIT)
    finally:
        await proxy.stop()
        await asyncio.to_thread(recorder.close)
