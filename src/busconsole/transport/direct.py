"""Connections that hand each complete message to a callback as soon as it is parsed.

``async for message in ws`` costs, per message, a queue, a coroutine round and, for
text, a UTF-8 decode that a capture tool then undoes by re-encoding. At tens of
thousands of small frames a second that is a third of the time. Here websockets'
protocol layer still does the framing, pings, closes and size limits; only the
delivery of data messages changes: bytes, in ``data_received``, with nothing queued
(so the library's queue-based flow control has nothing to do).

Text is delivered undecoded: a frame that is not UTF-8 becomes a malformed frame to
show (and, through the proxy, is passed on unchanged), not a dropped connection.
"""

from __future__ import annotations

from collections.abc import Callable

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

Deliver = Callable[[bytes, bool], None]  # (message bytes, binary?)


class DirectDelivery(Connection):
    """Mixin over a websockets asyncio connection; call :meth:`start` to begin delivering."""

    deliver: Deliver | None = None
    failure: BaseException | None = None  # what ``deliver`` raised; the connection was aborted
    _parts: list[bytes] | None = None  # a fragmented message being assembled
    _parts_binary = False

    def start(self, deliver: Deliver) -> None:
        """Deliver from now on, beginning with messages that arrived before this call (with
        the handshake, or before a server handler ran), which the library queued."""
        self.deliver = deliver
        queued = self.recv_messages.frames.queue
        while queued:
            self.process_event(queued.popleft())
        self.recv_messages.maybe_resume()

    def process_event(self, event: Event) -> None:
        if self.deliver is None or not isinstance(event, Frame):
            super().process_event(event)  # the handshake; data before start() is queued
            return
        op = event.opcode
        if op is Opcode.TEXT or op is Opcode.BINARY:
            if event.fin:
                self._hand_over(bytes(event.data), op is Opcode.BINARY)
            else:
                self._parts, self._parts_binary = [bytes(event.data)], op is Opcode.BINARY
        elif op is Opcode.CONT and self._parts is not None:
            self._parts.append(bytes(event.data))
            if event.fin:
                data, self._parts = b"".join(self._parts), None
                self._hand_over(data, self._parts_binary)
        else:
            super().process_event(event)  # pings and closes are the protocol's; pongs are timed

    def _hand_over(self, data: bytes, binary: bool) -> None:
        if self.failure is not None or self.deliver is None:
            return
        try:
            self.deliver(data, binary)
        except Exception as exc:  # a consumer bug must surface to the owner, not vanish in asyncio
            self.failure = exc
            self.transport.abort()


class DirectClientConnection(DirectDelivery, ClientConnection):
    """Pass as ``create_connection`` to ``websockets.asyncio.client.connect``."""


class DirectServerConnection(DirectDelivery, ServerConnection):
    """Pass as ``create_connection`` to ``websockets.asyncio.server.serve``."""
