"""Moving messages from one hop to the other without a write per message.

``recv`` and ``send`` cost a queue, a coroutine round, a UTF-8 decode and a socket
write for every message; at tens of thousands of small frames a second that is most
of a proxy's time. Here each message arrives as bytes straight from the source's
protocol layer (:mod:`busconsole.transport.direct`), is handed to the destination's
protocol (websockets' Sans-I/O layer, which frames it exactly as ``send`` would), and
everything queued during one turn of the event loop goes out in a single transport
write. Flow control is kept: while the destination's transport is over its limit,
the source socket is not read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosed, InvalidState

from busconsole.frames import CapturedFrame, Direction
from busconsole.transport.direct import DirectDelivery

Capture = Callable[[Direction, str, bytes, bool], CapturedFrame]
Held = Callable[[str], bool]  # whether a connection's sender must wait for the recorder
HOLD_POLL = 0.005  # seconds between looks at a held sender's recorder backlog


class Coalescer:
    """Frames messages onto ``dst`` and writes them once per loop turn; ``written`` is called
    after each write (to check the destination's flow control)."""

    def __init__(self, dst: Connection, written: Callable[[], None] | None = None) -> None:
        self.dst = dst
        self.written = written
        self._scheduled = False

    def push(self, raw: bytes, binary: bool) -> None:
        """Queue one message. Raises InvalidState once ``dst`` is closing."""
        protocol = self.dst.protocol
        if binary:
            protocol.send_binary(raw)
        else:
            protocol.send_text(raw)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        chunks = self.dst.protocol.data_to_send()
        transport = self.dst.transport
        if not chunks or transport.is_closing():
            return
        transport.write(b"".join(chunks))
        if b"" in chunks and transport.can_write_eof():  # a close was queued behind the data
            transport.write_eof()
        if self.written is not None:
            self.written()


class _Forward:
    """The delivery callback of one direction: capture, frame onto ``dst``, and stop reading
    ``src`` while ``dst`` cannot take more (backpressure as a socket proxy does it)."""

    def __init__(self, src: DirectDelivery, dst: Connection, conn: str, direction: Direction,
                 capture: Capture, held: Held | None = None) -> None:
        self.src, self.dst, self.conn, self.direction, self.capture = src, dst, conn, direction, capture
        self.held = held
        self._waiting = False
        self.out = Coalescer(dst, self._written)
        self.dst_gone: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._held = False
        self._release_task: asyncio.Task[None] | None = None  # kept: a task nobody holds may be collected
        self._wait_task: asyncio.Future[None] | None = None

    def __call__(self, raw: bytes, binary: bool) -> None:
        self.capture(self.direction, self.conn, raw, binary)
        if self.held is not None and not self._waiting and self.held(self.conn):
            # The recorder is far behind on this connection: stop reading this sender (only)
            # until it catches up, so one flood cannot crowd out the other clients.
            self._waiting = True
            self.src.transport.pause_reading()
            self._wait_task = asyncio.ensure_future(self._wait_recorder())
        if self.dst_gone.done():
            return
        try:
            self.out.push(raw, binary)
        except (InvalidState, ConnectionClosed):
            self.dst_gone.set_result("dst")

    def _written(self) -> None:
        if self.dst.paused and not self._held:
            self._held = True
            self.src.transport.pause_reading()
            self._release_task = asyncio.ensure_future(self._release())

    async def _wait_recorder(self) -> None:
        try:
            while self.held is not None and self.held(self.conn) and not self.src.transport.is_closing():
                await asyncio.sleep(HOLD_POLL)
        finally:
            self._waiting = False
            if not self._held and not self.src.transport.is_closing():
                self.src.transport.resume_reading()

    async def _release(self) -> None:
        try:
            await self.dst.drain()
        except (ConnectionClosed, ConnectionError):
            pass
        finally:
            self._held = False
            if not self._waiting and not self.src.transport.is_closing():
                self.src.transport.resume_reading()


async def pump(src: DirectDelivery, dst: Connection, conn: str, direction: Direction, capture: Capture,
               held: Held | None = None) -> str:
    """Forward ``src`` to ``dst`` until one closes; returns which: ``"src"`` or ``"dst"``.
    ``held(conn)`` true stops reading ``src`` until it is false again."""
    forward = _Forward(src, dst, conn, direction, capture, held)
    src.start(forward)
    closed = asyncio.ensure_future(src.wait_closed())
    try:
        done, _ = await asyncio.wait((closed, forward.dst_gone), return_when=asyncio.FIRST_COMPLETED)
        return "src" if closed in done else "dst"
    finally:
        closed.cancel()
        forward.out.flush()
