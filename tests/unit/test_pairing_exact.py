"""Pairing without a requestId, made exact: the reply's record id and stated duration decide
before order does, and a pair that is still a guess says so (``is:guessed``)."""

from __future__ import annotations

from typing import Any

import orjson

from busconsole.filtering import parse_filter
from busconsole.filtering.keys import help_text
from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.store import EventStore


class Wire:
    """An event store fed real frames, numbered and timed as they arrive."""

    def __init__(self, **store: Any) -> None:
        self.store = EventStore(**store)
        self.seq = 0

    def send(self, t: float, frame: dict[str, Any], conn: str = "c1") -> int:
        return self._add(t, OUT, frame, conn)

    def receive(self, t: float, frame: dict[str, Any], conn: str = "c1") -> int:
        return self._add(t, IN, frame, conn)

    def _add(self, t: float, direction: Any, frame: dict[str, Any], conn: str) -> int:
        self.seq += 1
        return self.store.append(CapturedFrame(self.seq, t, direction, conn, orjson.dumps({**frame, "timestamp": t})))

    def select(self, text: str) -> list[int]:
        return list(parse_filter(text).select(self.store))


def update(rid: int, req: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "MUTATION", "entity": "compute", "operation": "UPDATE",
                             "payload": {"id": rid, "status": "ACTIVE"}}
    if req is not None:
        frame["requestId"] = req
    return frame


def success(rid: int | None, op: str = "UPDATE") -> dict[str, Any]:
    data = {"name": "x"} if rid is None else {"id": rid, "name": "x"}
    return {"type": "MUTATION_SUCCESS", "entity": "compute", "operation": op, "data": data}


def test_two_updates_answered_out_of_order_get_their_own_latencies() -> None:
    wire = Wire()
    slow = wire.send(1_000, update(7, req="a"))  # the framework's frontend sends an id ...
    fast = wire.send(1_100, update(8, req="b"))
    fast_done = wire.receive(1_196, success(8))  # ... and its server never echoes it
    slow_done = wire.receive(4_000, success(7))
    p = wire.store.pairing
    assert p.pair_of(fast_done) is not None and p.pair_of(fast_done).request == fast  # type: ignore[union-attr]
    assert p.latency(fast) == 96.0 and p.latency(slow) == 3_000.0
    assert p.pair_of(slow_done).request == slow  # type: ignore[union-attr]
    assert not any(p.is_guessed(i) for i in (slow, fast, fast_done, slow_done))
    assert wire.select("is:guessed") == [] and wire.select("latency>2s") == [slow, slow_done]


def test_record_ids_are_compared_as_text_and_within_the_entity() -> None:
    wire = Wire()
    other_entity = wire.send(0, {**update(8), "entity": "cloud"})
    first = wire.send(10, update(7))
    second = wire.send(20, {**update(8), "payload": {"id": "8"}})  # an id sent as a string
    done = wire.receive(30, success(8))
    p = wire.store.pairing
    assert p.pair_of(done).request == second and not p.is_guessed(done)  # type: ignore[union-attr]
    assert p.is_pending(first) and p.is_pending(other_entity)


def test_a_reply_without_a_matching_id_takes_the_oldest_mutation_that_named_none() -> None:
    wire = Wire()
    named = wire.send(0, update(7))
    create = wire.send(10, {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"status": "X"}})
    done = wire.receive(30, success(99))
    p = wire.store.pairing
    assert p.pair_of(done).request == create and not p.is_guessed(create)  # type: ignore[union-attr]
    assert p.is_pending(named)


def test_pairs_made_by_order_among_equals_are_marked_guessed() -> None:
    wire = Wire()
    c1 = wire.send(0, {"type": "MUTATION", "entity": "compute", "operation": "CREATE", "payload": {"name": "a"}})
    c2 = wire.send(10, {"type": "MUTATION", "entity": "compute", "operation": "CREATE", "payload": {"name": "b"}})
    r1 = wire.receive(20, success(41, "CREATE"))
    r2 = wire.receive(30, success(42, "CREATE"))
    p = wire.store.pairing
    assert p.pair_of(r1).request == c1 and p.pair_of(r2).request == c2  # type: ignore[union-attr]
    assert p.is_guessed(c1) and p.is_guessed(r1)  # c2 was waiting too: r1 could have been its
    assert not p.is_guessed(c2) and not p.is_guessed(r2)  # by then c2 was the only one left
    assert p.pair_of(r1).guessed and not p.pair_of(r2).guessed  # type: ignore[union-attr]
    assert wire.select("is:guessed") == [c1, r1]
    assert wire.store.facts(c1).guessed and not wire.store.facts(c2).guessed


def test_the_same_record_twice_is_a_guess_and_a_requestid_never_is() -> None:
    wire = Wire()
    u1 = wire.send(0, update(7))
    wire.send(5, update(7))
    r1 = wire.receive(20, success(7))
    q = wire.send(30, {"type": "QUERY", "entity": "compute", "requestId": "q1"})
    wire.send(31, {"type": "QUERY", "entity": "compute", "requestId": "q2"})
    qr = wire.receive(40, {"type": "QUERY_RESULT", "entity": "compute", "requestId": "q1", "data": []})
    p = wire.store.pairing
    assert p.pair_of(r1).request == u1 and p.is_guessed(r1)  # type: ignore[union-attr]
    assert p.pair_of(qr).request == q and not p.is_guessed(qr)  # type: ignore[union-attr]


def test_a_reply_stating_its_duration_answers_the_request_sent_that_long_before() -> None:
    wire = Wire()
    a = wire.send(1_000, {"type": "QUERY", "entity": "partner"})
    b = wire.send(1_050, {"type": "QUERY", "entity": "partner"})
    done_b = wire.receive(1_120, {"type": "QUERY_RESULT", "entity": "partner", "duration": 70, "data": []})
    done_a = wire.receive(1_200, {"type": "QUERY_RESULT", "entity": "partner", "duration": 200, "data": []})
    failed = wire.send(2_000, {"type": "MUTATION", "entity": "partner", "operation": "DELETE", "payload": {"id": 1}})
    error = wire.receive(2_034, {"type": "ERROR", "error": "no", "duration": 34})
    p = wire.store.pairing
    assert p.pair_of(done_b).request == b and p.latency(b) == 70.0  # type: ignore[union-attr]
    assert p.pair_of(done_a).request == a and p.latency(a) == 200.0  # type: ignore[union-attr]
    assert p.pair_of(error).request == failed and p.is_failed(failed) and p.latency(failed) == 34.0  # type: ignore[union-attr]
    assert wire.select("is:guessed") == [] and p.pending_count() == 0


def test_a_stated_duration_that_points_nowhere_falls_back_to_order_and_keeps_its_latency() -> None:
    wire = Wire()
    q = wire.send(1_000, {"type": "QUERY", "entity": "partner"})
    r = wire.receive(1_500, {"type": "QUERY_RESULT", "entity": "partner", "duration": 123, "data": []})
    p = wire.store.pairing
    assert p.pair_of(r).request == q and p.latency(r) == 123.0 and not p.is_guessed(r)  # type: ignore[union-attr]


def test_guessed_is_a_filter_value_that_needs_pairing() -> None:
    flt = parse_filter("is:guessed")
    assert flt.needs_pairing and str(flt.root) == "is:guessed"
    assert "guessed" in help_text()


def test_counts_stay_right_as_the_window_drops_waiting_requests() -> None:
    wire = Wire(max_frames=64, max_bytes=1 << 20)
    for k in range(400):  # creates that never get answered, pushed out of the window
        wire.send(k, {"type": "MUTATION", "entity": "compute", "operation": "CREATE", "payload": {"n": k}})
    last = wire.send(1_000, update(5))
    done = wire.receive(1_010, success(5))
    p = wire.store.pairing
    assert p.pair_of(done).request == last and not p.is_guessed(done)  # type: ignore[union-attr]
    c1 = wire.send(2_000, {"type": "MUTATION", "entity": "compute", "operation": "DELETE", "payload": {"id": 1}})
    r1 = wire.receive(2_010, success(None, "DELETE"))
    assert p.pair_of(r1).request == c1 and not p.is_guessed(r1)  # type: ignore[union-attr]
