"""The reference store server over real loopback sockets: the exact shape of every reply,
broadcasts between clients, and survival of every kind of malformed frame."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from busconsole.server.runner import ServerThread

if TYPE_CHECKING:
    from tests.conftest import BusClient

Open = Callable[[str], "BusClient"]


def is_ms(value: Any) -> bool:
    return isinstance(value, int) and value > 1_600_000_000_000


def query(entity: str, payload: dict[str, Any] | None = None, rid: str = "req_1_q") -> dict[str, Any]:
    body = payload if payload is not None else {"kind": entity}
    return {"type": "QUERY", "entity": entity, "query": body, "payload": body, "requestId": rid}


def test_connection_frame(server: ServerThread, bus_client: Open) -> None:
    hello = bus_client(server.url).hello
    assert set(hello) == {"type", "status", "timestamp"}
    assert hello["type"] == "CONNECTION" and hello["status"] == "connected" and is_ms(hello["timestamp"])
    assert server.clients == 1


def test_any_path_is_accepted(server: ServerThread, bus_client: Open) -> None:
    assert bus_client(f"ws://127.0.0.1:{server.port}/anything/else").hello["type"] == "CONNECTION"


def test_query_result_shape(server: ServerThread, bus_client: Open) -> None:
    client = bus_client(server.url)
    stellar = {
        "kind": "compute",
        "criteria": {"status": {"$in": ["ACTIVE", "MAINTENANCE"]}, "cpuCores": {"$gte": 16}},
        "page": {"limit": 5, "offset": 2},
        "sort": {"field": "cpuCores", "order": "DESC"},
    }
    reply = client.request(query("compute", stellar, "req_1700000000000_ab12"))
    assert set(reply) == {"type", "entity", "data", "requestId", "timestamp"}
    assert (reply["type"], reply["entity"], reply["requestId"]) == ("QUERY_RESULT", "compute", "req_1700000000000_ab12")
    state = reply["data"]
    assert set(state) == {"entity", "query", "data", "meta"}
    assert state["entity"] == "compute" and state["query"] == stellar
    meta = state["meta"]
    assert {"total", "limit", "offset"} <= set(meta) and (meta["limit"], meta["offset"]) == (5, 2)
    expected = sorted(
        (r for r in server.store.rows("compute") if r["status"] != "INACTIVE" and r["cpuCores"] >= 16),
        key=lambda r: -r["cpuCores"],
    )
    assert meta["total"] == len(expected) > 7
    assert [r["id"] for r in state["data"]] == [r["id"] for r in expected[2:7]]


def test_query_without_request_id_and_with_query_field_only_and_lowercase_type(
    server: ServerThread, bus_client: Open
) -> None:
    client = bus_client(server.url)
    reply = client.request({"type": "query", "entity": "partner", "query": {"kind": "partner", "criteria": {"name": "acme"}}})
    assert "requestId" not in reply
    assert [p["name"] for p in reply["data"]["data"]] == ["acme"]
    bare = client.request({"type": "QUERY", "entity": "region"})  # kind defaults to the entity
    assert bare["data"]["meta"]["total"] == server.store.count("region") == len(bare["data"]["data"])


def test_query_include_nests_children_by_foreign_key(server: ServerThread, bus_client: Open) -> None:
    client = bus_client(server.url)
    stellar = {
        "kind": "partner",
        "criteria": {"name": "telcobright"},
        "include": [{"kind": "cloud", "include": [{"kind": "region", "page": {"limit": 1}}]}, {"kind": "environment"}],
    }
    [partner] = client.request(query("partner", stellar))["data"]["data"]
    clouds = partner["clouds"]
    assert clouds and all(c["partnerId"] == partner["id"] for c in clouds)
    assert [c["id"] for c in clouds] == [c["id"] for c in server.store.rows("cloud") if c["partnerId"] == partner["id"]]
    assert all(len(c["regions"]) == 1 and c["regions"][0]["cloudId"] == c["id"] for c in clouds)
    assert len(partner["environments"]) == 3


def test_mutations_persist_and_echo_the_request_id(server: ServerThread, bus_client: Open) -> None:
    client = bus_client(server.url)
    created = client.request(
        {"type": "MUTATION", "entity": "compute", "operation": "create", "payload": {"name": "new-node", "status": "ACTIVE"}, "requestId": "r-c"}
    )
    assert set(created) == {"type", "entity", "operation", "data", "requestId", "timestamp"}
    assert (created["type"], created["operation"], created["requestId"]) == ("MUTATION_SUCCESS", "CREATE", "r-c")
    new_id = created["data"]["id"]
    assert new_id == max(r["id"] for r in server.store.rows("compute"))

    updated = client.request(
        {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": new_id, "status": "MAINTENANCE"}, "requestId": "r-u"}
    )
    assert updated["data"]["status"] == "MAINTENANCE" and updated["data"]["name"] == "new-node"
    found = client.request(query("compute", {"kind": "compute", "criteria": {"id": new_id}}))
    assert found["data"]["data"][0]["status"] == "MAINTENANCE"

    deleted = client.request(
        {"type": "MUTATION", "entity": "compute", "operation": "Delete", "payload": {"id": new_id}, "requestId": "r-d"}
    )
    assert (deleted["operation"], deleted["data"]["id"], deleted["requestId"]) == ("DELETE", new_id, "r-d")
    assert client.request(query("compute", {"kind": "compute", "criteria": {"id": new_id}}))["data"]["data"] == []


def test_subscribe_and_unsubscribe(server: ServerThread, bus_client: Open) -> None:
    client = bus_client(server.url)
    reply = client.request({"type": "SUBSCRIBE", "entity": "datacenter"})
    assert set(reply) == {"type", "entity", "data", "timestamp"}
    assert (reply["type"], reply["entity"]) == ("SUBSCRIPTION_DATA", "datacenter")
    assert len(reply["data"]["data"]) == server.store.count("datacenter")
    client.send({"type": "UNSUBSCRIBE", "entity": "datacenter"})
    # no reply to UNSUBSCRIBE: the next frame is the answer to the next request
    assert client.request(query("cloud"))["type"] == "QUERY_RESULT"


def test_subscriber_gets_store_update_after_another_clients_mutation(server: ServerThread, bus_client: Open) -> None:
    watcher, actor = bus_client(server.url), bus_client(server.url)
    watcher.request({"type": "SUBSCRIBE", "entity": "compute"})
    done = actor.request(
        {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": 3, "status": "INACTIVE"}, "requestId": "r1"}
    )
    assert done["type"] == "MUTATION_SUCCESS"
    update = watcher.recv()
    assert set(update) == {"type", "entity", "data", "timestamp"}
    assert (update["type"], update["entity"]) == ("STORE_UPDATE", "compute")
    assert {"entity", "query", "data", "meta"} <= set(update["data"])
    assert next(r for r in update["data"]["data"] if r["id"] == 3)["status"] == "INACTIVE"

    watcher.send({"type": "UNSUBSCRIBE", "entity": "compute"})
    assert watcher.request(query("partner", rid="sync"))["requestId"] == "sync"  # unsubscribe applied
    actor.request({"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": 3, "status": "ACTIVE"}})
    assert watcher.request(query("partner", rid="after"))["requestId"] == "after"  # no STORE_UPDATE came first


def test_a_query_fills_a_named_store_and_mutations_of_its_kind_update_it(server: ServerThread, bus_client: Open) -> None:
    """Frontends query kinds into stores with their own names (entity "infrastructure", kind
    "cloud"); subscribers of that store see the query's state, then every change to the kind."""
    watcher, actor = bus_client(server.url), bus_client(server.url)
    empty = watcher.request({"type": "SUBSCRIBE", "entity": "infrastructure"})
    assert empty["data"]["data"] == [] and empty["data"]["meta"]["total"] == 0
    stellar = {"kind": "cloud", "criteria": {"partnerId": 1}, "page": {"limit": 10, "offset": 0}}
    result = actor.request(query("infrastructure", stellar, "r-q"))
    pushed = watcher.recv()
    assert (pushed["type"], pushed["entity"]) == ("STORE_UPDATE", "infrastructure")
    assert pushed["data"]["query"] == stellar and pushed["data"]["data"] == result["data"]["data"]
    cloud = result["data"]["data"][0]
    actor.request({"type": "MUTATION", "entity": "cloud", "operation": "UPDATE", "payload": {"id": cloud["id"], "status": "INACTIVE"}})
    changed = watcher.recv()
    assert changed["entity"] == "infrastructure" and changed["data"]["query"] == stellar
    assert changed["data"]["data"][0] == {**cloud, "status": "INACTIVE", "updatedAt": changed["data"]["data"][0]["updatedAt"]}


def test_console_logs_are_acknowledged_and_written_one_message_a_line(
    server: ServerThread, bus_client: Open, tmp_path: Path
) -> None:
    messages = [
        {"timestamp": 1758367256185, "isoTimestamp": "2025-09-20T11:20:56.185Z", "level": "log", "message": "hello", "args": ["hello"], "source": "frontend"},
        {"timestamp": 1758367260355, "level": "error", "message": "boom", "args": ["boom", {"isTrusted": True}], "stackTrace": "Error\n    at x (bundle.js:1:2)"},
    ]
    frame = {"type": "CONSOLE_LOGS", "messages": messages, "metadata": {"source": "frontend", "sessionId": "s-1"}}
    reply = bus_client(server.url).request(frame)
    assert set(reply) == {"type", "received", "timestamp"} and (reply["type"], reply["received"]) == ("CONSOLE_LOGS_ACK", 2)
    [path] = (tmp_path / "server-logs").glob("console-logs-*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {**messages[0], "sessionId": "s-1"}
    assert lines[1]["isoTimestamp"] == "2025-09-20T11:21:00.355Z"
    assert (lines[1]["source"], lines[1]["sessionId"], lines[1]["stackTrace"]) == ("frontend", "s-1", messages[1]["stackTrace"])
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_console_logs_never_reach_the_file_with_secrets(server: ServerThread, bus_client: Open, tmp_path: Path) -> None:
    secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0"
    message = {"level": "log", "message": f"fetch with Authorization: Bearer {secret}", "args": [{"accessToken": secret}]}
    assert bus_client(server.url).request({"type": "CONSOLE_LOGS", "messages": [message]})["received"] == 1
    [path] = (tmp_path / "server-logs").glob("console-logs-*.jsonl")
    text = path.read_text()
    assert secret not in text
    line = json.loads(text)
    assert line["message"] == "fetch with Authorization: Bearer ***" and line["args"] == [{"accessToken": "***"}]


def test_console_logs_from_the_real_store_server_round_trip(
    server: ServerThread, bus_client: Open, fixtures_dir: Path, tmp_path: Path
) -> None:
    """Every message of a real store-events line is written back unchanged (plus the session)."""
    source = fixtures_dir / "store-debug" / "store-events-2025-09-20T11-21-09.jsonl"
    event = json.loads(source.read_text().splitlines()[0])
    reply = bus_client(server.url).request({"type": "CONSOLE_LOGS", "messages": event["messages"], "metadata": event.get("metadata", {})})
    assert reply["received"] == event["count"] == len(event["messages"])
    [path] = (tmp_path / "server-logs").glob("console-logs-*.jsonl")
    written = [json.loads(line) for line in path.read_text().splitlines()]
    session = event.get("metadata", {}).get("sessionId")
    assert [{k: v for k, v in w.items() if k != "sessionId" or not session} for w in written] == event["messages"]


MALFORMED: list[tuple[str, str | bytes, str, str | None]] = [
    ("null", "null", "not a JSON object", None),
    ("number type", '{"type": 123, "requestId": "r-n"}', "'type' is a number", "r-n"),
    ("not json", "{type: QUERY", "not JSON", None),
    ("array", "[1, 2]", "not a JSON object", None),
    ("string", '"QUERY"', "not a JSON object", None),
    ("missing type", '{"entity": "compute"}', "missing 'type'", None),
    ("binary", b"\x00\x01\xff", "binary", None),
    ("unknown type", '{"type": "FROB", "requestId": "r-f"}', "unknown type 'FROB'", "r-f"),
    ("unknown entity", '{"type": "QUERY", "entity": "widget", "requestId": "r-w"}', "unknown entity 'widget'", "r-w"),
    ("unknown include", '{"type": "QUERY", "entity": "partner", "payload": {"kind": "partner", "include": [{"kind": "widget"}]}, "requestId": "r-i"}', "unknown entity 'widget'", "r-i"),
    ("bad criteria", '{"type": "QUERY", "entity": "compute", "payload": {"kind": "compute", "criteria": {"cpuCores": {"$near": 1}}}, "requestId": "r-b"}', "unknown operator", "r-b"),
    ("query not object", '{"type": "QUERY", "entity": "compute", "payload": [1]}', "Stellar query object", None),
    ("mutation missing id", '{"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"status": "X"}, "requestId": "r-m"}', "payload.id is required", "r-m"),
    ("mutation of a missing row", '{"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": 999999}, "requestId": "r-9"}', "compute 999999 not found", "r-9"),
    ("mutation unknown entity", '{"type": "MUTATION", "entity": "widget", "operation": "CREATE", "payload": {}, "requestId": "r-x"}', "unknown entity 'widget'", "r-x"),
    ("mutation bad operation", '{"type": "MUTATION", "entity": "compute", "operation": "UPSERT", "payload": {"id": 1}}', "unsupported operation 'UPSERT'", None),
    ("mutation no operation", '{"type": "MUTATION", "entity": "compute", "payload": {"id": 1}}', "needs an operation", None),
    ("subscribe without entity", '{"type": "SUBSCRIBE"}', "needs an entity", None),
    ("console logs not a list", '{"type": "CONSOLE_LOGS", "messages": "hi"}', "needs messages", None),
]


@pytest.mark.parametrize(("frame", "message", "rid"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_bad_frames_get_an_error_and_the_connection_stays_usable(
    server: ServerThread, bus_client: Open, frame: str | bytes, message: str, rid: str | None
) -> None:
    client = bus_client(server.url)
    reply = client.request(frame)
    assert reply["type"] == "ERROR" and message in reply["error"], reply
    assert set(reply) == ({"type", "error", "timestamp", "requestId"} if rid else {"type", "error", "timestamp"})
    assert reply.get("requestId") == rid
    assert client.request(query("partner", rid="next"))["requestId"] == "next"
    assert server.received[0] == frame  # the server keeps every frame, raw


def test_huge_frame_is_accepted(server: ServerThread, bus_client: Open) -> None:
    """Well past the library's 1 MiB default."""
    client = bus_client(server.url)
    blob = "x" * (3 * 2**20)
    reply = client.request({"type": "MUTATION", "entity": "compute", "operation": "CREATE", "payload": {"name": "big", "notes": blob}})
    assert reply["type"] == "MUTATION_SUCCESS" and len(reply["data"]["notes"]) == len(blob)


def test_compat_orchestrix_omits_request_id_on_mutation_success(
    orchestrix_server: ServerThread, bus_client: Open
) -> None:
    client = bus_client(orchestrix_server.url)
    reply = client.request({"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": 1, "status": "ACTIVE"}, "requestId": "r-1"})
    assert reply["type"] == "MUTATION_SUCCESS" and "requestId" not in reply
    assert client.request(query("compute", rid="r-2"))["requestId"] == "r-2"  # queries still echo it
    assert client.request({"type": "QUERY", "entity": "widget", "requestId": "r-3"})["requestId"] == "r-3"
