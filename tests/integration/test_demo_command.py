"""`busconsole demo` as a person runs it: in a real terminal (a pty), quit with `q`."""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from busconsole.commands.demo import demo_port

pytestmark = pytest.mark.timeout(60)
LEAVE_ALT_SCREEN = b"\x1b[?1049l"


def read_until(fd: int, done: Callable[[], bool], seen: bytearray, limit: float = 30.0) -> bool:
    """Read the terminal into ``seen`` (the app blocks when nobody reads it) until ``done()``
    or ``limit`` seconds pass, or the terminal closes."""
    deadline = time.monotonic() + limit
    closed = False
    while not done() and time.monotonic() < deadline:
        if closed:  # the child let go of the terminal while exiting: wait for the exit itself
            time.sleep(0.05)
            continue
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                closed = True
    return done()


def test_quit_stops_everything_and_restores_the_terminal(tmp_path: Path) -> None:
    parent, child = pty.openpty()
    env = {**os.environ, "TMPDIR": str(tmp_path), "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "45"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "busconsole.cli", "demo", "--frontends", "1"],
        stdin=child, stdout=child, stderr=child, env=env, close_fds=True, start_new_session=True,
    )
    os.close(child)
    seen = bytearray()
    try:
        assert read_until(parent, lambda: b"you are c1" in seen, seen), seen[-2000:].decode(errors="replace")
        assert list(tmp_path.glob("busconsole-demo-*")), "the demo keeps its data in a temporary folder"
        os.write(parent, b"q")
        assert read_until(parent, lambda: proc.poll() is not None, seen, limit=20), "still running after q"
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(parent)
    assert seen.rfind(LEAVE_ALT_SCREEN) > seen.rfind(b"you are c1")  # the terminal is given back
    assert not list(tmp_path.glob("busconsole-demo-*"))  # database and logs removed
    assert b"demo recorded to" in seen  # recorded by default, as connect is


def test_demo_port_prefers_its_port_and_falls_back_to_a_free_one() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = int(s.getsockname()[1])
    assert demo_port(free) == free
    with socket.create_server(("127.0.0.1", 0)) as busy:
        taken = int(busy.getsockname()[1])
        other = demo_port(taken)
        assert other not in (taken, 0)
