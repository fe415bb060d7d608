"""serve --redis: two reference server instances share one SQLite file and fan mutations out
through a real Redis, so a subscriber on one instance sees what a client of the other changed,
in the same order everywhere, once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

from busconsole.server.app import ReferenceServer
from busconsole.server.runner import ServerThread


@pytest.fixture
def pair(tmp_path: Path, redis_url: str) -> Iterator[tuple[ServerThread, ServerThread]]:
    db = tmp_path / "shared.sqlite"
    with ServerThread(ReferenceServer(db=db, seed_demo=True, redis=redis_url)) as a, \
            ServerThread(ReferenceServer(db=db, redis=redis_url)) as b:
        yield a, b


def hello(*clients: ClientConnection) -> None:
    for ws in clients:
        assert json.loads(ws.recv())["type"] == "CONNECTION"


def next_of(ws: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] == kind:
            return frame


def names(update: dict[str, object]) -> list[str]:
    return [row["name"] for row in update["data"]["data"]]  # type: ignore[index]


def test_a_mutation_on_one_instance_reaches_subscribers_of_both_in_order_once(
        pair: tuple[ServerThread, ServerThread]) -> None:
    a, b = pair
    with connect(b.url) as watcher_b, connect(a.url) as watcher_a, connect(a.url) as writer_a, \
            connect(b.url) as writer_b:
        hello(watcher_b, watcher_a, writer_a, writer_b)
        for ws in (watcher_a, watcher_b):
            ws.send(json.dumps({"type": "SUBSCRIBE", "entity": "partner"}))
            next_of(ws, "SUBSCRIPTION_DATA")
        writer_a.send(json.dumps({"type": "MUTATION", "entity": "partner", "operation": "CREATE",
                                  "payload": {"name": "from-a", "type": "CUSTOMER"}, "requestId": "m1"}))
        created_a = next_of(writer_a, "MUTATION_SUCCESS")
        writer_b.send(json.dumps({"type": "MUTATION", "entity": "partner", "operation": "CREATE",
                                  "payload": {"name": "from-b", "type": "CUSTOMER"}, "requestId": "m2"}))
        created_b = next_of(writer_b, "MUTATION_SUCCESS")
        assert created_a["data"]["id"] != created_b["data"]["id"]  # type: ignore[index]  # one shared id sequence
        seen = {}
        for name, ws in (("a", watcher_a), ("b", watcher_b)):
            first, second = next_of(ws, "STORE_UPDATE"), next_of(ws, "STORE_UPDATE")
            assert "from-a" in names(first) and "from-b" not in names(first)  # in order
            assert "from-a" in names(second) and "from-b" in names(second)
            with pytest.raises(TimeoutError):  # exactly once: nothing more comes
                next_of(ws, "STORE_UPDATE", timeout=0.5)
            seen[name] = names(second)
        assert seen["a"] == seen["b"]
        # the other instance answers queries with the row it did not write itself
        writer_b.send(json.dumps({"type": "QUERY", "entity": "partner", "payload": {"kind": "partner",
                                  "criteria": {"name": "from-a"}}, "requestId": "q"}))
        assert names(next_of(writer_b, "QUERY_RESULT")) == ["from-a"]


def test_instances_behind_redis_need_a_database_file(redis_url: str) -> None:
    with pytest.raises(ValueError, match="database file"):
        ReferenceServer(redis=redis_url)
