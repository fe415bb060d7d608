"""Shared fixtures: isolated XDG dirs, free loopback ports, the real fixtures folder."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from busconsole.server.app import ReferenceServer
from busconsole.server.runner import ServerThread

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "orchestrix"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's own config, history or sessions."""
    home = tmp_path_factory.mktemp("xdg")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("BUSCONSOLE_TOKEN", raising=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fixtures_dir() -> Path:
    """The real store-server samples; tests that need them skip with the reason when absent."""
    if not FIXTURES.is_dir():
        pytest.skip(f"real fixtures not found at {FIXTURES} (they live in ../shared/fixtures beside the repo)")
    return FIXTURES


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    """A running reference store server with the demo data, on a free loopback port.

    ``server.url`` to connect, ``server.received`` for what it got, ``server.restart()``
    to drop every client and listen again on the same port; console logs go to
    ``tmp_path / "server-logs"``.
    """
    with ServerThread(ReferenceServer(seed_demo=True, log_dir=tmp_path / "server-logs")) as srv:
        yield srv


@pytest.fixture
def orchestrix_server() -> Iterator[ServerThread]:
    """Like ``server``, but behaving as the framework's own server: MUTATION_SUCCESS
    carries no requestId, so replies pair by (entity, operation)."""
    with ServerThread(ReferenceServer(seed_demo=True, compat="orchestrix")) as srv:
        yield srv


class BusClient:
    """A plain synchronous WebSocket client for server tests: send frames, read replies as dicts."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.hello = self.recv()

    def send(self, frame: dict[str, Any] | str | bytes) -> None:
        self.ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        reply: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
        return reply

    def request(self, frame: dict[str, Any] | str | bytes) -> dict[str, Any]:
        self.send(frame)
        return self.recv()



@pytest.fixture
def bus_client() -> Iterator[Callable[[str], BusClient]]:
    """Open :class:`BusClient` connections (the CONNECTION frame is read into ``.hello``); all
    are closed after the test."""
    with contextlib.ExitStack() as stack:

        def open_client(url: str) -> BusClient:
            return BusClient(stack.enter_context(connect(url, max_size=None, open_timeout=5)))

        yield open_client


def fixture_total(fixtures_dir: Path) -> int:
    """Frames in the whole fixture tree, from its counts.json (every file's lines, store-events
    files counted by their lines), so tests follow the tree as files are added to it."""
    counts = json.loads((fixtures_dir / "counts.json").read_text())
    return int(counts["store_events"]["lines"]) + sum(v for v in counts.values() if isinstance(v, int))


async def until(condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    """Wait (on the event loop) until ``condition()`` is true; fail naming ``what`` after ``timeout``."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "64k") -> Iterator[Path]:
    """A real full disk: a tmpfs of ``size`` mounted on ``where`` for the block (skips, saying
    why, where mounting needs a root this machine does not give)."""
    import subprocess

    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server (Debian's package) on a free loopback port, nothing saved to disk."""
    import shutil
    import subprocess
    import time

    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (.ci/run installs Debian's redis-server)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def load_benchmark(name: str) -> Any:
    """``benchmarks/<name>.py`` imported as a module (its functions run short versions in tests),
    with its sibling modules importable as when it runs as a script."""
    import importlib.util
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    sys.path.insert(0, str(script.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(script.parent))
    return module
