"""Moving messages from one hop to the other without a write per message.

``Connection.send`` costs a flow-control round and a socket write for every message;
at tens of thousands of small frames a second that is most of a proxy's time. Here
each message is handed to the destination's protocol (websockets' Sans-I/O layer,
which frames it exactly as ``send`` would) and everything queued during one turn of
the event loop goes out in a single transport write. Flow control is kept: when the
destination's transport is over its limit, the pump waits for it to drain before
reading more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosed, InvalidState

from busconsole.frames import CapturedFrame, Direction

Capture = Callable[[Direction, str, bytes, bool], CapturedFrame]


class Coalescer:
    """Frames messages onto ``dst`` and writes them once per loop turn."""

    def __init__(self, dst: Connection) -> None:
        self.dst = dst
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

    async def drain(self) -> None:
        """Write what is queued, then wait until the destination is under its write limit."""
        self.flush()
        await self.dst.drain()


async def pump(src: Connection, dst: Connection, conn: str, direction: Direction, capture: Capture) -> str:
    """Forward ``src`` to ``dst`` until one closes; returns which: ``"src"`` or ``"dst"``."""
    out = Coalescer(dst)
    try:
        while True:
            try:
                message = await src.recv()
            except ConnectionClosed:
                return "src"
            binary = not isinstance(message, str)
            raw = message if isinstance(message, bytes) else message.encode()
            capture(direction, conn, raw, binary)
            try:
                out.push(raw, binary)
                if dst.paused:
                    await out.drain()
            except (InvalidState, ConnectionClosed):
                return "dst"
    finally:
        out.flush()
