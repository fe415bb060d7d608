"""The reference server against hostile input and slow peers, over real loopback sockets:
bounded memory, slow subscribers closed, query limits, no poisoned entity, clear id errors."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from busconsole.server.app import ReferenceServer
from busconsole.server.queries import MAX_ENTITIES
from busconsole.server.received import ReceivedFrames
from busconsole.server.runner import ServerThread
from busconsole.server.stellar import LIMITS

if TYPE_CHECKING:
    from tests.conftest import BusClient

Open = Callable[[str], "BusClient"]


def query(entity: str, body: dict[str, Any] | None = None, rid: str = "q") -> dict[str, Any]:
    body = body if body is not None else {"kind": entity}
    return {"type": "QUERY", "entity": entity, "query": body, "payload": body, "requestId": rid}


def mutation(entity: str, operation: str, payload: dict[str, Any], rid: str = "m") -> dict[str, Any]:
    return {"type": "MUTATION", "entity": entity, "operation": operation, "payload": payload, "requestId": rid}


def nested_or(depth: int) -> dict[str, Any]:
    criteria: dict[str, Any] = {"name": "x"}
    for _ in range(depth):
        criteria = {"$or": [criteria]}
    return criteria


def assert_next_is_reply(client: BusClient, rid: str) -> None:
    """Fence: nothing but the answer to a fresh query reaches ``client`` first."""
    reply = client.request(query("partner", {"kind": "partner", "page": {"limit": 0}}, rid))
    assert (reply["type"], reply.get("requestId")) == ("QUERY_RESULT", rid), reply


def test_received_is_bounded_in_bytes_by_default(server: ServerThread, bus_client: Open) -> None:
    """Three 12 MiB frames: only what fits the 32 MiB budget stays, the oldest goes first."""
    client = bus_client(server.url)
    blobs = [json.dumps({"type": "CONSOLE_LOGS", "messages": [], "pad": c * (12 * 2**20)}) for c in "abc"]
    for blob in blobs:
        assert client.request(blob)["type"] == "CONSOLE_LOGS_ACK"
    assert server.received.bytes <= 32 * 2**20
    assert list(server.received) == blobs[1:]


def test_received_is_bounded_in_count(bus_client: Open) -> None:
    with ServerThread(ReferenceServer(seed_demo=True, received=ReceivedFrames(max_frames=3))) as srv:
        client = bus_client(srv.url)
        frames = [json.dumps(query("partner", rid=f"r{i}")) for i in range(5)]
        for frame in frames:
            client.request(frame)
        assert srv.received == frames[2:] and srv.received.dropped == 2


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as s:
        yield s


@pytest.fixture
def small_buffer_server() -> Iterator[ServerThread]:
    with ServerThread(ReferenceServer(seed_demo=True, max_buffer=256 * 1024)) as srv:
        yield srv


@contextlib.contextmanager
def stalled_subscriber(url: str, entity: str) -> Iterator[ClientConnection]:
    """A subscriber that reads nothing after its SUBSCRIPTION_DATA: a tiny receive buffer and a
    one-message queue make the server's unsent bytes pile up quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    sock.connect((host, int(port)))
    with connect(url, sock=sock, max_queue=1, max_size=None, compression=None, proxy=None) as ws:
        ws.recv(timeout=5)  # CONNECTION
        ws.send(json.dumps({"type": "SUBSCRIBE", "entity": entity}))
        ws.recv(timeout=5)  # SUBSCRIPTION_DATA
        yield ws


def test_a_subscriber_that_stops_reading_is_closed_with_1008_and_others_go_on(
    small_buffer_server: ServerThread, bus_client: Open, caplog: pytest.LogCaptureFixture, stack: contextlib.ExitStack
) -> None:
    srv = small_buffer_server
    slow = stack.enter_context(stalled_subscriber(srv.url, "compute"))
    writer = bus_client(srv.url)
    assert writer.request({"type": "SUBSCRIBE", "entity": "compute"})["type"] == "SUBSCRIPTION_DATA"
    updates = 0
    deadline = time.monotonic() + 20
    with caplog.at_level(logging.WARNING, logger="busconsole.server"):
        for i in range(3000):  # bounded: each STORE_UPDATE of compute is ~50 KB
            if srv.server.slow_closed or time.monotonic() > deadline:
                break
            writer.send(mutation("compute", "UPDATE", {"id": 1, "note": i}, f"m{i}"))
            got = {writer.recv()["type"], writer.recv()["type"]}
            assert got == {"MUTATION_SUCCESS", "STORE_UPDATE"}, got
            updates += 1
    assert srv.server.slow_closed == 1, f"still open after {updates} updates"
    assert any("too slow" in r.getMessage() and "1008" in r.getMessage() for r in caplog.records)
    # The writer, itself a subscriber, is untouched: more updates still reach it.
    writer.send(mutation("compute", "UPDATE", {"id": 1, "note": "after"}, "after"))
    assert {writer.recv()["type"], writer.recv()["type"]} == {"MUTATION_SUCCESS", "STORE_UPDATE"}
    # The stalled one finds, after its backlog, a close frame that says why.
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(10_000):
            slow.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "too slow" in closed.value.rcvd.reason


@pytest.mark.parametrize(
    ("criteria", "limit"),
    [
        ({"$or": [{"name": f"n{i}"} for i in range(50_000)]}, "max_bytes"),
        ({"$or": [{"id": i} for i in range(LIMITS.max_alternatives + 1)]}, "max_alternatives"),
        (nested_or(LIMITS.max_depth), "max_depth"),
        (nested_or(130), "max_depth"),
    ],
    ids=["50k alternatives", "alternatives", "depth", "130 deep"],
)
def test_a_query_past_a_limit_gets_one_error_naming_it_and_poisons_nothing(
    server: ServerThread, bus_client: Open, criteria: dict[str, Any], limit: str
) -> None:
    client, other = bus_client(server.url), bus_client(server.url)
    reply = client.request(query("compute", {"kind": "compute", "criteria": criteria}, "big"))
    assert reply["type"] == "ERROR" and limit in reply["error"] and reply["requestId"] == "big", reply
    assert_next_is_reply(client, "fence")
    # The refused query is nobody's refresh query: SUBSCRIBE and STORE_UPDATE still show every row.
    sub = other.request({"type": "SUBSCRIBE", "entity": "compute"})
    assert sub["type"] == "SUBSCRIPTION_DATA" and len(sub["data"]["data"]) == server.store.count("compute")
    assert client.request(mutation("compute", "UPDATE", {"id": 1, "note": "x"}))["type"] == "MUTATION_SUCCESS"
    update = other.recv()
    assert update["type"] == "STORE_UPDATE" and len(update["data"]["data"]) == server.store.count("compute")


def test_a_query_within_the_limits_still_runs(server: ServerThread, bus_client: Open) -> None:
    alternatives = [{"id": i} for i in range(LIMITS.max_alternatives)]
    reply = bus_client(server.url).request(query("compute", {"kind": "compute", "criteria": {"$or": alternatives}}))
    assert reply["type"] == "QUERY_RESULT" and reply["data"]["meta"]["total"] > 0


def test_a_failing_refresh_reaches_only_the_subscribers_of_that_entity(
    server: ServerThread, bus_client: Open
) -> None:
    """``$in`` with a non-list is only noticed on a row that reaches it: the query succeeds on
    an empty match, its refresh fails once a mutation makes a row reach it."""
    querier, subscriber, mutator = bus_client(server.url), bus_client(server.url), bus_client(server.url)
    lazy = {"kind": "compute", "criteria": {"status": "ODD", "name": {"$in": 5}}}
    assert querier.request(query("oddones", lazy))["type"] == "QUERY_RESULT"
    for entity in ("oddones", "compute"):
        assert subscriber.request({"type": "SUBSCRIBE", "entity": entity})["type"] == "SUBSCRIPTION_DATA"
    reply = mutator.request(mutation("compute", "CREATE", {"name": "n", "status": "ODD"}))
    assert reply["type"] == "MUTATION_SUCCESS", reply
    assert_next_is_reply(mutator, "mutator-fence")  # no ERROR for the one who caused it
    got = {f["type"]: f for f in (subscriber.recv(), subscriber.recv())}
    assert set(got) == {"ERROR", "STORE_UPDATE"}, got
    assert got["ERROR"]["entity"] == "oddones" and "$in needs a list" in got["ERROR"]["error"]
    assert got["STORE_UPDATE"]["entity"] == "compute"
    assert_next_is_reply(querier, "querier-fence")


@pytest.mark.parametrize("rid", ["--5", "²", "٣", 2**63, "9223372036854775808", -(2**63) - 1, 2**70, "1" * 40])
def test_odd_ids_get_an_error_naming_the_field_and_no_traceback(
    server: ServerThread, bus_client: Open, caplog: pytest.LogCaptureFixture, rid: Any
) -> None:
    client = bus_client(server.url)
    with caplog.at_level(logging.DEBUG, logger="busconsole.server"):
        for operation in ("UPDATE", "DELETE", "CREATE"):
            reply = client.request(mutation("compute", operation, {"id": rid}, "odd"))
            assert reply["type"] == "ERROR" and "payload.id" in reply["error"], reply
            assert reply["requestId"] == "odd" and "internal error" not in reply["error"]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert_next_is_reply(client, "fence")


def test_a_payload_sqlite_cannot_store_gets_an_error_not_an_internal_one(server: ServerThread, bus_client: Open) -> None:
    deep: Any = "x"
    for _ in range(300):  # decodes (orjson reads 1024 levels), cannot be encoded back (255)
        deep = [deep]
    reply = bus_client(server.url).request(mutation("compute", "CREATE", {"name": "deep", "tags": deep}))
    assert reply["type"] == "ERROR" and "payload cannot be stored" in reply["error"], reply


def test_invalid_utf8_closes_with_1007(server: ServerThread, bus_client: Open) -> None:
    """The WebSocket protocol requires closing on invalid UTF-8 in a text frame (README says so)."""
    client = bus_client(server.url)
    client.ws.send(b'{"type":"QUERY","entity":"\xff"}', text=True)
    with pytest.raises(ConnectionClosed) as closed:
        client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
    assert_next_is_reply(bus_client(server.url), "others-fine")


def test_the_refresh_query_table_is_bounded(server: ServerThread, bus_client: Open) -> None:
    """Entity names come from clients: past MAX_ENTITIES the least recently used is forgotten."""
    client = bus_client(server.url)
    tiny = {"kind": "partner", "page": {"limit": 0}}
    for i in range(MAX_ENTITIES + 10):
        client.send(query(f"store{i}", tiny, f"r{i}"))
        assert client.recv()["requestId"] == f"r{i}"
    table = server.server.bus.queries
    assert len(table) == MAX_ENTITIES and "store0" not in table and f"store{MAX_ENTITIES + 9}" in table
    # A forgotten store falls back to every row of its name's kind, like one never queried.
    sub = client.request({"type": "SUBSCRIBE", "entity": "store0"})
    assert sub["type"] == "SUBSCRIPTION_DATA" and sub["data"]["data"] == []
