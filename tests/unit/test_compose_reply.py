"""compose_reply.py over a real EventStore: what became of a sent request; and the core stays headless."""

from __future__ import annotations

import subprocess
import sys

import orjson

from busconsole.compose.reply import reply_status
from busconsole.frames import CapturedFrame
from busconsole.store import EventStore

T0 = 1_758_644_165_000.0


def add(store: EventStore, direction: str, obj: dict[str, object], t: float) -> int:
    return store.append(CapturedFrame(len(store) + 1, t, direction, "c1", orjson.dumps(obj)))  # type: ignore[arg-type]


def test_unseen_waiting_then_replied_with_latency() -> None:
    store = EventStore()
    assert reply_status(store, "req_1").state == "unseen"
    sent = add(store, "out", {"type": "QUERY", "entity": "partner", "requestId": "req_1", "payload": {"kind": "partner"}}, T0)
    waiting = reply_status(store, "req_1", now=T0 + 5)
    assert (waiting.state, waiting.request_index, waiting.done) == ("waiting", sent, False)
    reply = add(store, "in", {"type": "QUERY_RESULT", "entity": "partner", "requestId": "req_1", "data": {}}, T0 + 12.5)
    done = reply_status(store, "req_1")
    assert (done.state, done.reply_index, done.latency, done.reply_type) == ("replied", reply, 12.5, "QUERY_RESULT")
    assert done.done and done.reply is not None and done.reply["requestId"] == "req_1"


def test_error_reply_and_timeout() -> None:
    store = EventStore(pairing_timeout=2.0)
    add(store, "out", {"type": "MUTATION", "entity": "compute", "operation": "DELETE", "requestId": "req_d", "payload": {"id": 1}}, T0)
    add(store, "in", {"type": "ERROR", "error": "no such compute", "requestId": "req_d"}, T0 + 3)
    failed = reply_status(store, "req_d")
    assert (failed.state, failed.reply_type) == ("error", "ERROR")
    add(store, "out", {"type": "QUERY", "entity": "x", "requestId": "req_t", "payload": {"kind": "x"}}, T0 + 10)
    assert reply_status(store, "req_t", now=T0 + 11).state == "waiting"
    assert reply_status(store, "req_t", now=T0 + 10 + 2001).state == "timed_out"


def test_mutation_success_without_request_id_still_pairs() -> None:
    store = EventStore()
    add(store, "out", {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "requestId": "req_u", "payload": {"id": 1}}, T0)
    add(store, "in", {"type": "MUTATION_SUCCESS", "entity": "compute", "operation": "UPDATE", "data": {"id": 1}}, T0 + 4)
    status = reply_status(store, "req_u")
    assert (status.state, status.latency) == ("replied", 4.0)


def test_compose_core_imports_neither_textual_nor_websockets() -> None:
    code = (
        "import sys, busconsole.compose.draft, busconsole.compose.history, busconsole.compose.reply;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'websockets')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
