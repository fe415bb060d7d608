"""Reconnecting honestly: each lost and re-established connection is a row in the stream (and the
recording), the backoff is capped low and jittered at the cap, a connection that drops within a
second does not reset it, and a key (reconnect_now) skips the wait."""

from __future__ import annotations

import asyncio
import time

import orjson
from tests.integration.test_client import WAIT, Watch, running
from websockets.asyncio.server import ServerConnection, serve

from busconsole.server.runner import ServerThread
from busconsole.transport.client import BusClient


async def test_a_lost_and_regained_connection_are_rows_in_the_stream(server: ServerThread) -> None:
    watch = Watch()
    async with running(watch.client(server.url, subscribe=["partner"], initial_backoff=0.05)) as client:
        await client.wait_connected(WAIT)
        assert not watch.typed("CLIENT_OPEN")  # the first connection is no reconnection
        await asyncio.to_thread(server.stop)
        await watch.until(lambda: watch.typed("CLIENT_CLOSE"), "the close row")
        await asyncio.to_thread(server.start)
        await watch.until(lambda: watch.typed("CLIENT_OPEN"), "the reopen row")
    close, = watch.typed("CLIENT_CLOSE")
    reopen, = watch.typed("CLIENT_OPEN")
    assert close.seq < reopen.seq
    assert orjson.loads(close.raw)["conn"] == "c1" and orjson.loads(close.raw)["reason"]
    kinds = [f.type for f in watch.frames]
    assert kinds.index("CLIENT_CLOSE") < kinds.index("CLIENT_OPEN") < len(kinds) - kinds[::-1].index("CONNECTION")


def test_the_backoff_is_capped_at_5_s_by_default_and_jittered_at_the_cap() -> None:
    client = BusClient("ws://127.0.0.1:9/")
    waits = [client._delay(20) for _ in range(200)]
    assert all(4.0 <= w <= 6.0 for w in waits) and len({round(w, 3) for w in waits}) > 50


async def test_a_connection_that_drops_at_once_does_not_reset_the_backoff() -> None:
    async def slam(ws: ServerConnection) -> None:
        await ws.close()

    async with serve(slam, "127.0.0.1", 0) as srv:
        watch = Watch()
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/"
        async with running(watch.client(url, initial_backoff=0.02, max_backoff=0.5)):
            await watch.until(lambda: max((s.attempt for s in watch.states if s.phase == "reconnecting"), default=0) >= 4,
                              "the attempts to climb")
    attempts = [s.attempt for s in watch.states if s.phase == "reconnecting"]
    assert attempts[:3] == [2, 3, 4]  # each quick drop counts on; none resets to the first wait


async def test_reconnect_now_skips_the_backoff_wait() -> None:
    async def slam(ws: ServerConnection) -> None:
        await ws.close()

    async with serve(slam, "127.0.0.1", 0) as srv:
        watch = Watch()
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/"
        async with running(watch.client(url, initial_backoff=30.0, max_backoff=30.0)) as client:
            await watch.until(lambda: "reconnecting" in watch.phases(), "the first wait")
            waiting = len(watch.states)
            start = time.monotonic()
            client.reconnect_now()
            await watch.until(lambda: "connecting" in watch.phases()[waiting:], "the next attempt")
            assert time.monotonic() - start < 2.0


def test_why_a_connection_failed_reads_as_a_person_would_say_it() -> None:
    import socket
    import ssl

    from busconsole.transport.state import describe

    assert describe(ConnectionRefusedError(111, "Connect call failed")) == "connection refused (nothing listens there)"
    assert describe(socket.gaierror(-2, "Name or service not known")).startswith("DNS: cannot resolve the host")
    assert describe(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")).startswith("TLS failed")


async def test_a_refused_connection_says_so_while_it_waits() -> None:
    from tests.conftest import free_port

    watch = Watch()
    async with running(watch.client(f"ws://127.0.0.1:{free_port()}/", initial_backoff=5.0)):
        await watch.until(lambda: any(s.phase == "reconnecting" for s in watch.states), "the first wait")
    waiting = next(s for s in watch.states if s.phase == "reconnecting")
    assert waiting.last_error == "connection refused (nothing listens there)"
