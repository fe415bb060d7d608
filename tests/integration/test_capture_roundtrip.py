"""Whatever the wire carries is captured, recorded and replayed as the same frame: the same bytes,
the same object, the same malformed reason, and nothing raises. Frames come from a real server
socket into a real LiveSession (recorded), and are read back through ``open_recording``."""

from __future__ import annotations

import asyncio
import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.server import ServerConnection, serve

from busconsole.recording.reader import open_recording
from busconsole.sessions.live import LiveSession

# JSON text as JavaScript and hostile peers write it: escapes that are half an emoji, numbers out of
# every parser's comfort, deep nesting, raw non-ASCII; then bytes that are not JSON or not UTF-8.
_ODD_STRINGS = st.sampled_from([r"\ud83d", r"\ude00x", r"\ud83d\ude00", "\\\\ud83d", "é", "\u2028", r"\u0000"])
_NUMBERS = st.sampled_from(["1e400", "-1e400", "1e-400", "-0", "123456789012345678901234567890", "0.1", "7"])


@st.composite
def json_text(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["str", "num", "deep", "text"]))
        if kind == "str":
            value = '"' + "".join(draw(st.lists(_ODD_STRINGS, max_size=3))) + '"'
        elif kind == "num":
            value = draw(_NUMBERS)
        elif kind == "deep":
            depth = draw(st.sampled_from([3, 1000, 1030, 2000]))
            value = "[" * depth + "]" * depth
        else:
            value = json.dumps(draw(st.text(max_size=12)))
        parts.append(f'"k{len(parts)}":{value}')
    head = draw(st.sampled_from(['"type":"STORE_UPDATE"', '"type":"CONSOLE_LOGS"', '"type":7', '"entity":"x"']))
    body = ",".join([head, *parts])
    return ("{" + body + "}").encode()


MESSAGES = st.lists(
    st.one_of(
        json_text().map(lambda b: (b, "text")),
        st.binary(max_size=24).map(lambda b: (b, "binary")),
        st.binary(min_size=1, max_size=24).map(lambda b: (b"{" + b + b"}", "text")),  # maybe not UTF-8
    ),
    min_size=1,
    max_size=8,
)


async def capture_and_replay(messages: list[tuple[bytes, str]]) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # our SUBSCRIBE: the session is listening
        for raw, kind in messages:
            if kind == "binary":
                await ws.send(raw)
            else:
                ws.protocol.send_text(raw)  # as it is, UTF-8 or not
                ws.send_data()
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=None) as srv:
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/"
        session = LiveSession(url, subscribe=("x",))
        await session.start()
        try:
            deadline = time.monotonic() + 10
            while session.status.frames_in < len(messages) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert session.status.phase == "connected", session.status.phase_text
        finally:
            await session.stop()
    live = [session.store.frame(i) for i in range(len(session.store)) if session.store.frame(i).dir == "in"]
    assert [(f.raw, f.binary) for f in live] == [(raw, kind == "binary") for raw, kind in messages]
    path = session.status.recording_path
    assert path is not None
    with open_recording([path]) as rec:
        rec.wait()
        replayed = [rec.frame(i) for i in range(len(rec)) if rec.frame(i).dir == "in"]
        assert rec.problems == []
    assert len(replayed) == len(live)
    for was, now in zip(live, replayed, strict=True):
        assert (now.raw, now.binary, now.seq, now.conn) == (was.raw, was.binary, was.seq, was.conn)
        assert now.obj == was.obj
        reason = (was.malformed.reason if was.malformed else None, now.malformed.reason if now.malformed else None)
        assert reason[0] == reason[1], reason


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(MESSAGES)
def test_live_capture_recording_and_replay_agree(messages: list[tuple[bytes, str]]) -> None:
    asyncio.run(capture_and_replay(messages))
