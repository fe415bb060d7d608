"""A recorder killed with SIGKILL mid-stream leaves a file whose every complete line is a frame.

A bare websockets sender on 127.0.0.1 counts what it sends. Burst one (5,000 frames, sent
without pauses) must land in the file completely; then, while burst two is flowing, the
recorder is killed. Frames still in socket buffers at the kill cannot be counted as
"received", so the sound checks are: nothing of burst one is missing, everything in
the file is a gap-free prefix of what was sent, and only the last line may be torn.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from websockets.sync.server import ServerConnection, serve

from busconsole.recording.reader import open_recording

BURST1 = 5_000
BURST2_MAX = 200_000
PAD = "x" * 100


class Sender:
    def __init__(self) -> None:
        self.sent = 0
        self.burst2 = threading.Event()
        self.stop = threading.Event()

    def handler(self, ws: ServerConnection) -> None:
        def burst(n: int) -> None:
            for _ in range(n):
                if self.stop.is_set():
                    return
                ws.send(orjson.dumps({"type": "STORE_UPDATE", "entity": "load", "n": self.sent, "pad": PAD}).decode())
                self.sent += 1

        try:
            burst(BURST1)
            self.burst2.wait(30)
            burst(BURST2_MAX)
        except Exception:  # noqa: BLE001 - the recorder is killed under our feet on purpose
            pass


@pytest.fixture
def sender() -> Iterator[tuple[Sender, str]]:
    s = Sender()
    with serve(s.handler, "127.0.0.1", 0, compression=None) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        yield s, f"ws://127.0.0.1:{port}/"
        s.stop.set()
        s.burst2.set()
        server.shutdown()
        thread.join(10)


def complete_lines(path: Path) -> tuple[list[bytes], bytes]:
    data = path.read_bytes()
    *lines, tail = data.split(b"\n")
    return lines, tail


def wait_lines(path: Path, n: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.read_bytes().count(b"\n") < n:
        assert time.monotonic() < deadline, f"recorder did not write {n} lines in time"
        time.sleep(0.02)


def test_sigkill_mid_stream_leaves_a_readable_gap_free_file(sender: tuple[Sender, str], tmp_path: Path) -> None:
    s, url = sender
    out = tmp_path / "killed.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "busconsole.cli", "record", url, "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_lines(out, 1 + BURST1)  # header + all of burst one
        lines, tail = complete_lines(out)
        assert len(lines) == 1 + BURST1 == 1 + s.sent and tail == b""
        s.burst2.set()
        wait_lines(out, 1 + BURST1 + 2_000)  # burst two is flowing into the file
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    sent = s.sent
    lines, tail = complete_lines(out)
    records = [orjson.loads(x) for x in lines[1:]]  # every complete line parses
    ns = [r["frame"]["n"] for r in records]
    assert ns == list(range(len(ns)))  # a gap-free prefix of what was sent, in order
    assert BURST1 + 2_000 <= len(ns) <= sent
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)
    with open_recording([out]) as rec:
        rec.wait()
        assert len(rec) == len(ns)
        assert len(rec.problems) == (1 if tail else 0)
