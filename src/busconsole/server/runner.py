"""Run the reference server on its own thread and event loop.

Sync tests, subprocess CLI tests and Textual pilot tests (which own their loop)
all need a server that lives outside their loop; so do ``busconsole demo`` and
``busconsole serve``. The store is kept across ``restart()``: same port, same data.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from busconsole.server.app import ReferenceServer
from busconsole.server.db import EntityStore
from busconsole.server.received import ReceivedFrames

START_TIMEOUT = 10.0


class ServerThread:
    """A :class:`ReferenceServer` run on a private thread: ``ServerThread(ReferenceServer(...))``."""

    def __init__(self, server: ReferenceServer) -> None:
        self.server = server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def received(self) -> ReceivedFrames:
        return self.server.received

    @property
    def clients(self) -> int:
        return self.server.clients

    @property
    def store(self) -> EntityStore:
        return self.server.store

    def start(self) -> ServerThread:
        """Return once the server is listening (and the simulated frontends launched)."""
        if self._loop is not None:
            raise RuntimeError("server already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=_run, args=(loop,), name=f"busconsole-server-{self.port}", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._call(self.server.start())
        except BaseException:
            self._shutdown()
            raise
        return self

    def stop(self) -> None:
        """Stop listening and drop every client connection; the store stays open."""
        if self._loop is None:
            return
        try:
            self._call(self.server.stop())
        finally:
            self._shutdown()

    def restart(self) -> None:
        """Stop, then listen again on the same port with the same data.

        From an async test whose own loop holds clients, ``await asyncio.to_thread(srv.restart)``
        lets them answer the close; a blocking call still works but costs ``CLOSE_TIMEOUT``."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop and close the store (a file database is flushed on every mutation already)."""
        self.stop()
        self.server.store.close()

    def push(self, entity: str, frames: Iterable[str]) -> int:
        """:meth:`ReferenceServer.push` from another thread; blocks until every frame is sent."""
        assert self._loop is not None, "server not running"
        return int(asyncio.run_coroutine_threadsafe(self.server.push(entity, frames), self._loop).result())

    def wait_for_received(self, n: int, timeout: float = 5.0) -> list[bytes | str]:
        """Wait until the server has received at least ``n`` frames; raise TimeoutError if not."""
        deadline = time.monotonic() + timeout
        while len(self.received) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"server received {len(self.received)} frames, expected {n}")
            time.sleep(0.01)
        return self.received.snapshot()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(START_TIMEOUT)

    def _shutdown(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT)


def _run(loop: asyncio.AbstractEventLoop) -> None:
    """The server thread: run until stopped, then finish whatever is left and close the loop."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


async def run_until_signalled(
    server: ReferenceServer,
    signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM),
    announce: Callable[[str], None] = print,
) -> None:
    """``busconsole serve``: listen until one of ``signals`` arrives, then close every
    connection and the store."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        rows = server.store.count()
        announce(f"store server listening on {server.url} ({rows} rows in {server.store.path}); Ctrl-C stops it")
        if server.simulate:
            announce(f"{server.simulate} simulated frontends connected")
        await stop.wait()
        announce("stopping")
        await server.stop()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        server.store.close()
