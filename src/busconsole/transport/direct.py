"""Connections that hand each complete message to a callback as soon as it is parsed.

``async for message in ws`` costs, per message, a queue, a coroutine round and, for
text, a UTF-8 decode that a capture tool then undoes by re-encoding. At tens of
thousands of small frames a second that is a third of the time. Here websockets'
protocol layer still does the framing, pings, closes and size limits; only the
delivery of data messages changes: bytes, in ``data_received``, with nothing queued
(so the library's queue-based flow control has nothing to do).

Text is delivered undecoded: a frame that is not UTF-8 becomes a malformed frame to
show (and, through the proxy, is passed on unchanged), not a dropped connection.

A client goes one step further (:class:`DirectClientConnection`): server frames are
unmasked, so the common ones (a whole text or binary message in one frame, no reserved
bits, within the size limits) are cut out of each received chunk by
:meth:`DirectDelivery._walk`, a header walk over the bytes, and handed over without
websockets' per-frame generator parser. Every other frame (pings, pongs, closes,
fragments, masked or oversize frames, reserved bits or opcodes) is given, whole and in
order, to the library, which answers, checks and fails exactly as it always does. The
walk runs only while the library's parser sits between frames with nothing buffered, the
connection is OPEN and no extension (compression) was negotiated; otherwise every byte
goes to the library.
"""

from __future__ import annotations

from collections.abc import Callable
from types import GeneratorType

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN, Event
from websockets.streams import StreamReader

Deliver = Callable[[bytes, bool], None]  # (message bytes, binary?)

_AT_EOF = StreamReader.at_eof.__code__  # where the library's parser waits between frames
_READ_EXACT = StreamReader.read_exact.__code__  # where it waits inside one
HELD = 1 << 16  # an incomplete frame up to this size waits in the walk's buffer; a bigger one goes to the library


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
    """Pass as ``create_connection`` to ``websockets.asyncio.client.connect``.

    Whole unmasked data frames are cut out of the received bytes here (see the module
    docstring); everything else is the library's.
    """

    _held = b""  # the start of a frame the walk is waiting to complete

    def data_received(self, data: bytes) -> None:
        held = self._held
        if held:
            self._held = b""
            self._walk(held + data)
        elif self._walkable():
            self._walk(data)
        else:
            self._catch_up(data)

    def eof_received(self) -> None:
        held = self._held
        if held:  # the library sees the truncated frame and fails as it would have
            self._held = b""
            super().data_received(held)
        super().eof_received()

    def _catch_up(self, data: bytes) -> None:
        """Give the library the rest of the frame it is reading (begun in an earlier chunk, e.g.
        with the handshake, or a message over HELD), then walk what follows. Without this a flood
        would stay on the library's parser until a chunk happened to end between two frames."""
        pos, end = 0, len(data)
        while pos < end:
            need = self._library_needs()
            if need is None:
                super().data_received(data[pos:] if pos else data)
                return
            step = min(end, pos + need)
            super().data_received(data[pos:step])
            pos = step
            if self._walkable():
                if pos < end:
                    self._walk(data[pos:])
                return

    def _library_needs(self) -> int | None:
        """How many more bytes the library's parser is waiting for in the frame it is reading
        (its header may need another read after them); None when it is not reading a frame of
        a connection the walk could take over."""
        protocol = self.protocol
        if (self.deliver is None or self.failure is not None or protocol.state is not OPEN
                or protocol.extensions):
            return None
        waiting = protocol.parser
        while (inner := getattr(waiting, "gi_yieldfrom", None)) is not None:
            waiting = inner
        if not isinstance(waiting, GeneratorType) or waiting.gi_code is not _READ_EXACT:
            return None
        frame = waiting.gi_frame
        wanted = frame.f_locals.get("n") if frame is not None else None  # read_exact(n)
        if not isinstance(wanted, int):
            return None
        return max(1, wanted - len(protocol.reader.buffer))

    def _walkable(self) -> bool:
        """Is the library's parser between frames, with nothing buffered, on a plain OPEN connection?"""
        protocol = self.protocol
        if (self.deliver is None or self.failure is not None or protocol.state is not OPEN
                or protocol.extensions or protocol.reader.buffer or protocol.current_size is not None):
            return False
        waiting = protocol.parser  # the client's parse() -> Protocol.parse() -> StreamReader.at_eof()
        while (inner := getattr(waiting, "gi_yieldfrom", None)) is not None:
            waiting = inner
        return getattr(waiting, "gi_code", None) is _AT_EOF

    def _walk(self, data: bytes) -> None:
        """Hand over the whole data frames of ``data``; give the library the others, in order."""
        protocol = self.protocol  # between frames, so no fragmented message is open (_walkable)
        limit = protocol.max_message_size
        if protocol.max_fragment_size is not None and (limit is None or protocol.max_fragment_size < limit):
            limit = protocol.max_fragment_size
        if limit is None:
            limit = 1 << 63
        deliver = self.deliver
        assert deliver is not None
        end = len(data)
        pos = 0
        try:
            while pos + 2 <= end:
                head = data[pos]
                size = data[pos + 1]
                start = pos + 2
                if size >= 126:
                    if size == 126:
                        start = pos + 4
                        if start > end:
                            break
                        size = data[pos + 2] << 8 | data[pos + 3]  # cheaper than a slice and a call
                    elif size == 127:
                        start = pos + 10
                        if start > end:
                            break
                        size = int.from_bytes(data[pos + 2:start], "big")
                    else:  # the mask bit: never from a server; the library fails the connection
                        self._to_library(data, pos, end)
                        return
                stop = start + size
                if (head == 0x81 or head == 0x82) and size <= limit:  # FIN, no RSV, text or binary
                    if stop > end:
                        if stop - pos > HELD:  # a big message: the library's buffer grows without copies
                            self._to_library(data, pos, end)
                            return
                        break
                    deliver(data[start:stop], head == 0x82)
                    pos = stop
                    continue
                # A control frame, a fragment, reserved bits or opcodes, an oversize frame.
                if stop > end and (stop - pos > HELD or size > limit):
                    self._to_library(data, pos, end)  # the library reads it (or refuses it) as it comes
                    return
                if stop > end:
                    break
                super().data_received(data[pos:stop])
                pos = stop
                if not self._walkable():  # a close, a failure, a fragmented message begun
                    if pos < end:
                        super().data_received(data[pos:end])
                    return
        except Exception as exc:  # from deliver: as _hand_over does
            self.failure = exc
            self.transport.abort()
            return
        if pos < end:
            self._held = data[pos:end]  # at most HELD bytes, or a header

    def _to_library(self, data: bytes, pos: int, end: int) -> None:
        super().data_received(data[pos:end] if pos else data)


class DirectServerConnection(DirectDelivery, ServerConnection):
    """Pass as ``create_connection`` to ``websockets.asyncio.server.serve``."""
