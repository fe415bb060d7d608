"""The demo's pieces without the TUI: the reference server, the tap, simulated frontends
through it and busconsole's own client through it, all on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

import pytest

from busconsole.protocol import build_mutation, build_query
from busconsole.server.runner import ServerThread
from busconsole.server.simulate import Pace
from busconsole.sessions.base import Recordable, Session
from busconsole.sessions.demo import OWN_CONN, DemoSession
from busconsole.store import EventStore

pytestmark = pytest.mark.timeout(60)
FAST = Pace(think=(0.02, 0.08), log_every=0.2, batch=5)  # the demo's behaviour, quicker
REQUESTS = {"QUERY", "MUTATION", "CONSOLE_LOGS"}


async def until(ready: Callable[[], bool], what: str, tries: int = 300) -> None:
    """Wait for ``ready``: bounded to ``tries`` pauses of 50 ms."""
    for _ in range(tries):
        if ready():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def frontend_types(store: EventStore) -> dict[str, set[str]]:
    """conn -> the frame types seen on it, for every connection but ours."""
    seen: dict[str, set[str]] = {}
    for i in range(store.first_index, len(store)):
        facts = store.facts(i)
        if facts.conn != OWN_CONN:
            seen.setdefault(facts.conn, set()).add(facts.type or "")
    return seen


def paired(store: EventStore, request_id: str) -> bool:
    """Is the request with ``request_id`` in the store and answered?"""
    sent = store.positions("req", request_id)
    return bool(sent) and store.pairing.pair_of(sent[0]) is not None


def busy_frontends(store: EventStore) -> int:
    wanted = REQUESTS | {"QUERY_RESULT"}
    return sum(types >= wanted for types in frontend_types(store).values())


async def test_stream_holds_every_frontend_and_own_sends_pair(server: ServerThread) -> None:
    session = DemoSession(server.url, frontends=2, subscribe=("compute",), pace=FAST, seed=11)
    assert isinstance(session, Session) and isinstance(session, Recordable)
    assert not session.can_send  # nothing to send through before start
    await session.start()
    try:
        assert session.can_send and not session.read_only and session.status.phase == "connected"
        assert "demo" in session.title and str(session.proxy.tap.port) in session.title
        store = session.store
        await until(lambda: busy_frontends(store) >= 2, "two frontends each with QUERY, QUERY_RESULT, MUTATION, CONSOLE_LOGS")
        assert set(frontend_types(store)) == {"c2", "c3"}  # ours connected first, so it is c1

        query = build_query("partner", {"kind": "partner", "criteria": {"name": "telcobright"}})
        await session.send(query)
        rid = query["requestId"]
        await until(lambda: any(json.loads(r).get("requestId") == rid for r in list(server.received)),
                    "the server to receive our query")
        await until(lambda: paired(store, rid), "our query to be paired with its reply")
        pair = store.pairing.pair_of(store.positions("req", rid)[0])
        assert pair is not None and not pair.failed
        request, reply = store.facts(pair.request), store.facts(pair.reply)
        assert (request.conn, request.dir, request.type) == (OWN_CONN, "out", "QUERY")
        assert (reply.conn, reply.dir, reply.type) == (OWN_CONN, "in", "QUERY_RESULT")
        assert store.frame(pair.reply).obj["data"]["data"][0]["name"] == "telcobright"
        # The subscription our client made on connect brought its SUBSCRIPTION_DATA and is counted.
        assert session.subscriptions["compute"] >= 1
    finally:
        await session.stop()
    assert session.status.phase == "closed" and not session.can_send
    assert session.proxy.tap.connections == {}
    closes = [store.facts(i).conn for i in store.positions("type", "PROXY_CLOSE")]
    assert sorted(closes) == ["c1", "c2", "c3"]  # every connection, ours included, was closed


async def test_subscribe_and_mutation_go_through_our_connection(server: ServerThread) -> None:
    session = DemoSession(server.url, frontends=1, pace=Pace(think=(5.0, 5.0)), seed=3)
    await session.start()
    try:
        store = session.store
        await session.subscribe("datacenter")
        await until(lambda: session.subscriptions.get("datacenter") == 1, "SUBSCRIPTION_DATA for datacenter")
        mutation = build_mutation("datacenter", "UPDATE", {"id": 1, "name": "dc-renamed"})
        await session.send(mutation)
        await until(lambda: paired(store, mutation["requestId"]), "the MUTATION_SUCCESS")
        await until(lambda: session.subscriptions["datacenter"] == 2, "the STORE_UPDATE our mutation caused")
        ours = {store.facts(i).type for i in store.positions("conn", OWN_CONN)}
        assert {"SUBSCRIBE", "SUBSCRIPTION_DATA", "MUTATION", "MUTATION_SUCCESS", "STORE_UPDATE"} <= ours
        await session.unsubscribe("datacenter")
        assert "datacenter" not in session.subscriptions
        await until(lambda: any(json.loads(r).get("type") == "UNSUBSCRIBE" for r in list(server.received)),
                    "the server to receive UNSUBSCRIBE")
    finally:
        await session.stop()


async def test_stop_leaves_no_task_thread_or_connection(server: ServerThread) -> None:
    threads_before = set(threading.enumerate())
    tasks_before = asyncio.all_tasks()
    session = DemoSession(server.url, frontends=3, pace=FAST, seed=5, record=True)
    await session.start()
    await until(lambda: server.clients == 4, "our client and three frontends at the server")
    assert session.recording and session.status.recording_path is not None
    await session.stop()
    assert not session.recording
    await until(lambda: server.clients == 0, "the server to see every connection closed")
    assert asyncio.all_tasks() <= tasks_before | {asyncio.current_task()}
    # The loop's default executor (``asyncio_N``, used to close the recording) ends with the loop.
    assert {t for t in threading.enumerate() if not t.name.startswith("asyncio_")} <= threads_before
    path = session.status.recording_path
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    assert sum(1 for _ in path.open()) == len(session.store) + 1  # the header, then every frame
