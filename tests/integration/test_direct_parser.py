"""The client's own walk over server frames (transport/direct.py) against websockets' parser.

A raw loopback server answers the handshake, waits for the client's first message, then
writes hand-made frames in chosen pieces. Each case runs twice: through
``DirectClientConnection`` (whole data frames cut out by the walk, the rest given to the
library) and through a connection that leaves every byte to the library. Both must deliver
the same messages, answer the same pongs and end with the same close codes.
"""

from __future__ import annotations

import asyncio
import os
import random
import struct
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode
from websockets.utils import accept_key

from busconsole.transport.direct import HELD, DirectClientConnection, DirectDelivery

WAIT = 10.0


class LibraryOnly(DirectDelivery, ClientConnection):
    """The reference: websockets parses every frame (what the client did before the walk)."""


class Counting(DirectClientConnection):
    """The walk, counting the data frames that still reached the library's parser."""

    library_data_frames = 0

    def process_event(self, event: object) -> None:
        if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            self.library_data_frames += 1
        super().process_event(event)  # type: ignore[arg-type]


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bytes | None = None) -> bytes:
    """A frame as a server (unmasked) or a broken server (masked) writes it."""
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 1 << 16:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def text(payload: bytes, fin: bool = True) -> bytes:
    return frame(0x1, payload, fin=fin)


def close(code: int = 1000, reason: bytes = b"") -> bytes:
    return frame(0x8, struct.pack("!H", code) + reason)


def client_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, unmasked payload) of what the client wrote after the handshake."""
    out = []
    pos = 0
    while pos + 2 <= len(data):
        op, n = data[pos] & 0x0F, data[pos + 1] & 0x7F
        pos += 2
        if n == 126:
            n, pos = struct.unpack("!H", data[pos:pos + 2])[0], pos + 2
        elif n == 127:
            n, pos = struct.unpack("!Q", data[pos:pos + 8])[0], pos + 8
        key, pos = data[pos:pos + 4], pos + 4
        out.append((op, bytes(b ^ key[i % 4] for i, b in enumerate(data[pos:pos + n]))))
        pos += n
    return out


@dataclass
class Outcome:
    messages: list[tuple[bytes, bool]] = field(default_factory=list)
    close_rcvd: int | None = None
    close_sent: int | None = None
    from_client: list[tuple[int, bytes]] = field(default_factory=list)
    library_data_frames: int = 0


async def run(pieces: list[bytes], cls: type[ClientConnection], *, max_size: int | None = 1 << 20,
              eof: bool = False, early: bytes = b"") -> Outcome:
    """Serve ``pieces`` (written one by one, a pause between) to a client of class ``cls``;
    ``early`` goes out with the handshake response, before the client starts delivering."""
    received = bytearray()
    started = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = accept_key(key.decode()).encode()
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + early)
        await writer.drain()
        await started.wait()
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.002)  # usually one data_received per piece
        if eof:
            writer.write_eof()
        try:  # until the client's close frame (a client waits for the server to close TCP) or its EOF
            while chunk := await asyncio.wait_for(reader.read(65536), 1.0):
                received.extend(chunk)
                if any(op == 0x8 for op, _ in client_frames(bytes(received))):
                    break
        except (ConnectionError, TimeoutError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    out = Outcome()
    try:
        ws = await connect(f"ws://127.0.0.1:{port}/", create_connection=cls, compression=None,
                           max_size=max_size, ping_interval=None, close_timeout=1)
        assert isinstance(ws, DirectDelivery)
        ws.start(lambda data, binary: out.messages.append((data, binary)))
        await ws.send("go")
        started.set()
        await asyncio.wait_for(ws.wait_closed(), WAIT)
        out.close_rcvd = ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None
        out.close_sent = ws.protocol.close_sent.code if ws.protocol.close_sent else None
        out.library_data_frames = getattr(ws, "library_data_frames", 0)
    finally:
        server.close()
        await server.wait_closed()
    out.from_client = [f for f in client_frames(bytes(received)) if f != (0x1, b"go")]
    return out


def split(data: bytes, how: str, seed: int = 0) -> list[bytes]:
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i:i + 1] for i in range(len(data))]
    rng = random.Random(seed)
    pieces, pos = [], 0
    while pos < len(data):
        step = rng.randint(1, 700)
        pieces.append(data[pos:pos + step])
        pos += step
    return pieces


async def both(data: bytes, how: str, **kw: object) -> tuple[Outcome, Outcome]:
    walked = await run(split(data, how), Counting, **kw)  # type: ignore[arg-type]
    library = await run(split(data, how), LibraryOnly, **kw)  # type: ignore[arg-type]
    assert walked.messages == library.messages
    assert (walked.close_rcvd, walked.close_sent) == (library.close_rcvd, library.close_sent)
    assert walked.from_client == library.from_client
    return walked, library


MESSAGES = [b'{"type":"STORE_UPDATE","n":%d}' % i for i in range(50)] + [b"x" * 200, b"y" * 125, b"z" * 126,
                                                                          b"w" * 65535, b"v" * 70_000]
HOW = ["whole", "random", "bytes"]


@pytest.mark.parametrize("how", HOW)
async def test_whole_frames_of_every_length_form_arrive_in_order(how: str) -> None:
    data = b"".join(text(m) for m in MESSAGES) + frame(0x2, b"\x00\xffbin") + close()
    if how == "bytes":
        data = b"".join(text(m) for m in MESSAGES[:50]) + frame(0x2, b"\x00\xffbin") + close()
    walked, _ = await both(data, how)
    expected = [(m, False) for m in (MESSAGES if how != "bytes" else MESSAGES[:50])] + [(b"\x00\xffbin", True)]
    assert walked.messages == expected
    assert walked.close_rcvd == 1000
    if how == "whole":  # frames over HELD are read by the library as they come (and what follows
        assert walked.library_data_frames <= 3  # them up to a chunk that ends between frames)
    assert len(text(b"w" * 65535)) > HELD  # so the two big ones take the library path when cut


@pytest.mark.parametrize("how", HOW)
async def test_small_frames_never_reach_the_library_parser(how: str) -> None:
    data = b"".join(text(m) for m in MESSAGES[:50]) + b"".join(frame(0x2, m) for m in MESSAGES[:50]) + close()
    walked, library = await both(data, how)
    assert len(walked.messages) == 100
    assert walked.library_data_frames == 0
    assert library.library_data_frames == 0  # LibraryOnly does not count: the check is on the walk


@pytest.mark.parametrize("how", HOW)
async def test_fragmented_messages_with_a_ping_between_fragments(how: str) -> None:
    data = (text(b"before") + text(b'{"a":', fin=False) + frame(0x9, b"ping!") + frame(0x0, b"1", fin=False)
            + frame(0x0, b"}") + text(b"after") + frame(0x2, b"bin-", fin=False) + frame(0x0, b"ary")
            + text(b"last") + close())
    walked, _ = await both(data, how)
    assert walked.messages == [(b"before", False), (b'{"a":1}', False), (b"after", False), (b"bin-ary", True),
                               (b"last", False)]
    assert (0xA, b"ping!") in walked.from_client  # the pong, from the library


@pytest.mark.parametrize("how", HOW)
async def test_pings_are_answered_and_pongs_pass(how: str) -> None:
    data = text(b"1") + frame(0x9, b"") + text(b"2") + frame(0x9, b"p" * 125) + frame(0xA, b"unsolicited") \
        + text(b"3") + close(1001, b"going")
    walked, _ = await both(data, how)
    assert walked.messages == [(b"1", False), (b"2", False), (b"3", False)]
    assert [f for f in walked.from_client if f[0] == 0xA] == [(0xA, b""), (0xA, b"p" * 125)]
    assert walked.close_rcvd == 1001


@pytest.mark.parametrize("how", HOW)
async def test_nothing_is_delivered_after_a_close_frame(how: str) -> None:
    data = text(b"kept") + close(4000, b"bye") + text(b"dropped") + text(b"dropped too")
    walked, _ = await both(data, how)
    assert walked.messages == [(b"kept", False)]
    assert walked.close_rcvd == 4000
    assert (0x8, struct.pack("!H", 4000) + b"bye") in walked.from_client  # echoed


@pytest.mark.parametrize("how", ["whole", "random"])
@pytest.mark.parametrize("size", [1001, 70_000])
async def test_an_oversize_frame_fails_the_connection_with_1009(how: str, size: int) -> None:
    data = text(b"ok") + text(b"a" * size) + text(b"never")
    walked, _ = await both(data, how, max_size=1000)
    assert walked.messages == [(b"ok", False)]
    assert walked.close_sent == 1009


@pytest.mark.parametrize("how", HOW)
async def test_invalid_utf8_text_is_delivered_as_it_came(how: str) -> None:
    bad = b'{"type":"X","v":"\xff\xfe\xc3"}'
    data = text(bad) + text(b"\xed\xa0\x80") + text(b"fine") + close()
    walked, _ = await both(data, how)
    assert walked.messages == [(bad, False), (b"\xed\xa0\x80", False), (b"fine", False)]
    assert walked.close_rcvd == 1000


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (frame(0x1, b"masked", mask=b"abcd"), 1002),
        (frame(0x1, b"rsv1", rsv=0x40), 1002),
        (frame(0x3, b"reserved opcode"), 1002),
        (frame(0x0, b"continuation of nothing"), 1002),
        (frame(0x9, b"p" * 126), 1002),  # a control frame over 125 bytes
        (frame(0x9, b"fragmented ping", fin=False), 1002),
        (text(b"half", fin=False) + text(b"new message"), 1002),
    ],
)
async def test_protocol_errors_fail_as_the_library_fails(bad: bytes, code: int) -> None:
    data = text(b"before") + bad + text(b"after")
    walked, _ = await both(data, "random")
    assert walked.messages == [(b"before", False)]
    assert walked.close_sent == code


@pytest.mark.parametrize("how", ["whole", "bytes"])
async def test_a_stream_cut_mid_frame_ends_as_abnormal_closure(how: str) -> None:
    data = text(b"whole") + text(b"cut short")[:-3]
    walked, _ = await both(data, how, eof=True)
    assert walked.messages == [(b"whole", False)]
    assert walked.close_rcvd is None


async def test_a_frame_begun_with_the_handshake_is_finished_by_the_library_then_the_walk_takes_over() -> None:
    flood = b"".join(text(b"%d" % i + b"." * 200) for i in range(2000)) + close()
    early = text(b"queued") + text(b"split across the start")[:7]
    rest = text(b"split across the start")[7:] + flood
    walked = await run(split(rest, "random"), Counting, early=early)
    library = await run(split(rest, "random"), LibraryOnly, early=early)
    assert walked.messages == library.messages
    assert [m for m, _ in walked.messages[:2]] == [b"queued", b"split across the start"]
    assert len(walked.messages) == 2002
    assert walked.library_data_frames <= 3  # the two begun before start(), not the flood


async def test_random_streams_match_the_library() -> None:
    rng = random.Random(19)
    for seed in range(4):
        parts = []
        for _ in range(120):
            r = rng.random()
            if r < 0.7:
                parts.append(text(os.urandom(rng.choice([0, 5, 125, 126, 300, 5000]))))
            elif r < 0.8:
                parts.append(frame(0x9, os.urandom(rng.randint(0, 125))))
            elif r < 0.9:
                parts.append(frame(0x2, os.urandom(rng.randint(0, 2000))))
            else:
                parts += [text(b"frag-", fin=False), frame(0x0, b"ment", fin=False), frame(0x0, b"ed")]
        data = b"".join(parts) + close()
        pieces = split(data, "random", seed)
        walked = await run(pieces, Counting)
        library = await run(pieces, LibraryOnly)
        assert walked.messages == library.messages
        assert walked.from_client == library.from_client
        assert walked.close_rcvd == library.close_rcvd == 1000


async def test_a_consumer_error_aborts_the_connection_and_is_kept() -> None:
    server_data = text(b"1") + text(b"2") + text(b"3")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = accept_key(key.decode()).encode()
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        await reader.read(100)  # the client's "go"
        writer.write(server_data)
        await writer.drain()
        await reader.read(100)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    got: list[bytes] = []

    def deliver(data: bytes, binary: bool) -> None:
        got.append(data)
        if data == b"2":
            raise ValueError("consumer bug")

    try:
        ws = await connect(f"ws://127.0.0.1:{port}/", create_connection=DirectClientConnection, compression=None,
                           ping_interval=None, close_timeout=1)
        assert isinstance(ws, DirectClientConnection)
        ws.start(deliver)
        await ws.send("go")
        await asyncio.wait_for(ws.wait_closed(), WAIT)
        assert got == [b"1", b"2"]
        assert isinstance(ws.failure, ValueError)
    finally:
        server.close()
        await server.wait_closed()
