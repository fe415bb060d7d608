"""pairing.py: requests meet their replies, by id or by the fallback rules, in any order."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from busconsole.pairing import Pair, Pairing
from busconsole.summary import latency_stat, percentile


@dataclass
class Bus:
    """Feeds a Pairing frame by frame, numbering them, the way the store does."""

    pairing: Pairing = field(default_factory=Pairing)
    t: float = 1_000.0
    next_index: int = 0

    def send(
        self, type_: str, entity: str | None = "partner", op: str | None = None,
        req: str | None = None, conn: str = "c1", dt: float = 10.0,
    ) -> int:
        self.t += dt
        index = self.next_index
        self.pairing.observe(index, self.t, type_, entity, op, req, conn)
        self.next_index += 1
        return index


def test_pairs_by_request_id_out_of_order() -> None:
    bus = Bus()
    qa = bus.send("QUERY", req="a")
    qb = bus.send("QUERY", req="b")
    rb = bus.send("QUERY_RESULT", req="b", dt=5)
    ra = bus.send("QUERY_RESULT", req="a", dt=7)
    assert bus.pairing.pair_of(qa) == Pair(qa, ra, 22.0, False)
    assert bus.pairing.pair_of(rb) == Pair(qb, rb, 5.0, False)
    assert bus.pairing.latency(ra) == 22.0
    assert not bus.pairing.pending(now=bus.t)


def test_mutation_success_without_id_takes_oldest_mutation_of_same_conn_entity_op() -> None:
    bus = Bus()
    m1 = bus.send("MUTATION", op="UPDATE", req="r1")
    bus.send("MUTATION", op="UPDATE", req="x", conn="c2")  # another connection
    m_create = bus.send("MUTATION", op="CREATE", req="r2")
    m3 = bus.send("MUTATION", op="UPDATE", req="r3")
    s1 = bus.send("MUTATION_SUCCESS", op="UPDATE")
    s_create = bus.send("MUTATION_SUCCESS", op="CREATE")
    s3 = bus.send("MUTATION_SUCCESS", op="UPDATE")
    p = bus.pairing
    assert (p.pair_of(s1).request, p.pair_of(s_create).request, p.pair_of(s3).request) == (m1, m_create, m3)  # type: ignore[union-attr]
    assert [w.conn for w in p.pending(now=bus.t)] == ["c2"]


def test_mutation_success_without_operation_takes_oldest_mutation_of_entity() -> None:
    bus = Bus()
    m = bus.send("MUTATION", op="DELETE", req="r1")
    s = bus.send("MUTATION_SUCCESS", op=None)
    assert bus.pairing.pair_of(s) == Pair(m, s, 10.0, False)


def test_query_result_without_id_skips_queries_that_carried_one() -> None:
    bus = Bus()
    with_id = bus.send("QUERY", req="q1")
    without = bus.send("QUERY")
    r = bus.send("QUERY_RESULT")
    assert bus.pairing.pair_of(r).request == without  # type: ignore[union-attr]
    assert bus.pairing.is_pending(with_id)


def test_error_with_id_fails_that_request() -> None:
    bus = Bus()
    q = bus.send("QUERY", req="q1")
    m = bus.send("MUTATION", op="CREATE", req="m1")
    e = bus.send("ERROR", entity=None, req="m1")
    assert bus.pairing.pair_of(e) == Pair(m, e, 10.0, True)
    assert bus.pairing.is_failed(m) and not bus.pairing.is_failed(e)
    assert bus.pairing.is_pending(q)


def test_error_without_id_answers_oldest_request_without_id_on_its_connection() -> None:
    bus = Bus()
    bus.send("QUERY", conn="c2")
    q = bus.send("QUERY", conn="c1")
    bus.send("QUERY", conn="c1", req="has-id")
    e = bus.send("ERROR", entity=None, conn="c1")
    assert bus.pairing.pair_of(e).request == q  # type: ignore[union-attr]
    assert bus.pairing.is_failed(q)


def test_orphans() -> None:
    bus = Bus()
    q = bus.send("QUERY", req="q1")
    unknown = bus.send("QUERY_RESULT", req="nobody")
    wrong_kind = bus.send("MUTATION_SUCCESS", op="UPDATE", req="q1")  # a query is not answered by that
    stray = bus.send("ERROR", entity=None)
    for i in (unknown, wrong_kind, stray):
        assert bus.pairing.is_orphan(i) and bus.pairing.pair_of(i) is None
    assert not bus.pairing.is_orphan(q) and bus.pairing.is_pending(q)
    bus.send("QUERY_RESULT", req="q1")
    dup = bus.send("QUERY_RESULT", req="q1")  # a second reply finds nobody waiting
    assert bus.pairing.is_orphan(dup)


def test_pending_ages_and_timeout_with_explicit_clock() -> None:
    bus = Bus(Pairing(timeout=30.0))
    q = bus.send("QUERY", req="slow")  # t = 1010
    assert bus.pairing.pending_count() == 1
    (p,) = bus.pairing.pending(now=21_010)
    assert (p.index, p.req, p.age, p.timed_out) == (q, "slow", 20_000, False)
    (p,) = bus.pairing.pending(now=31_011)
    assert p.timed_out and bus.pairing.is_timed_out(q, now=31_011)
    assert not bus.pairing.is_timed_out(q, now=31_010)
    r = bus.send("QUERY_RESULT", req="slow", dt=40_000)  # late, still paired
    assert bus.pairing.pair_of(q) == Pair(q, r, 40_000.0, False)
    assert not bus.pairing.pending(now=100_000) and not bus.pairing.is_timed_out(q, now=100_000)
    assert bus.pairing.pending_count() == 0


def test_latency_percentiles_nearest_rank() -> None:
    bus = Bus()
    queries = []
    for k in range(1, 101):
        queries.append(bus.send("QUERY", req=f"q{k}", dt=1000))
        bus.send("QUERY_RESULT", req=f"q{k}", dt=k)
    m = bus.send("MUTATION", op="CREATE", entity="cloud", req="m", dt=1000)
    bus.send("MUTATION_SUCCESS", op="CREATE", entity="cloud", dt=500)
    lat = sorted(bus.pairing.latency(q) or 0.0 for q in queries)
    assert latency_stat(lat) == {"count": 100, "p50": 50.0, "p95": 95.0, "max": 100.0}
    assert bus.pairing.latency(m) == 500.0
    assert percentile([1.0, 2.0], 50) == 1.0 and percentile([1.0, 2.0], 51) == 2.0


def test_effects_follow_a_mutation_within_the_window() -> None:
    bus = Bus(Pairing(effect_window=1000.0))
    m = bus.send("MUTATION", op="UPDATE", req="m1")
    early = bus.send("STORE_UPDATE", dt=5)  # broadcast before the reply
    other = bus.send("STORE_UPDATE", entity="cloud", dt=5)
    s = bus.send("MUTATION_SUCCESS", op="UPDATE", dt=5)
    late = bus.send("STORE_UPDATE", dt=900)
    too_late = bus.send("STORE_UPDATE", dt=200)
    p = bus.pairing
    assert p.effects_of(s) == [early, late] == p.effects_of(m)
    assert p.cause_of(early) == s and p.cause_of(late) == s
    assert p.cause_of(other) is None and p.cause_of(too_late) is None


def test_query_result_ends_the_effect_window() -> None:
    bus = Bus()
    bus.send("MUTATION", op="CREATE", req="m1")
    s = bus.send("MUTATION_SUCCESS", op="CREATE")
    u1 = bus.send("STORE_UPDATE")
    bus.send("QUERY", req="q")
    bus.send("QUERY_RESULT", req="q")
    u2 = bus.send("STORE_UPDATE")
    assert bus.pairing.effects_of(s) == [u1] and bus.pairing.cause_of(u2) is None


def test_evict_forgets_old_frames() -> None:
    bus = Bus()
    q = bus.send("QUERY", req="old")
    m = bus.send("MUTATION", op="UPDATE", req="m")
    s = bus.send("MUTATION_SUCCESS", op="UPDATE")
    u = bus.send("STORE_UPDATE")
    bus.pairing.evict(s)
    p = bus.pairing
    assert not p.is_pending(q) and p.pending(now=bus.t) == []
    assert p.pair_of(m) is None and p.pair_of(s) == Pair(m, s, 10.0, False)  # the reply remembers
    assert p.effects_of(s) == [u]
    late = bus.send("QUERY_RESULT", req="old")  # its request is gone: an orphan
    assert p.is_orphan(late)
    bus.pairing.evict(late + 1)
    assert p.effects_of(s) == [] and p.pair_of(s) is None


def test_frames_must_come_in_order() -> None:
    with pytest.raises(ValueError, match="out of order"):
        Pairing().observe(5, 0.0, "QUERY", "x", None, None, "c1")


# --------------------------------------------------------------------------- property


def _candidate(request: tuple[str | None, ...], reply: tuple[str | None, ...]) -> bool:
    """Could the fallback rules give this reply (which has no id) to this request?"""
    kind, entity, op, req, conn = request
    if conn != reply[4]:
        return False
    if reply[0] == "MUTATION_SUCCESS":
        return kind == "MUTATION" and entity == reply[1] and op == reply[2]
    if reply[0] == "QUERY_RESULT":
        return kind == "QUERY" and entity == reply[1] and req is None
    return req is None  # ERROR


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[tuple[str, str | None, str | None, str | None, str]], dict[int, int]]:
    """A valid exchange: requests and their replies interleaved at random.

    Replies with an id come in any order; a reply without one answers the oldest waiting
    request the fallback rules could give it to (a server answers such a group in order).
    Returns the frames and, for each reply position, the position of its request.
    """
    n = draw(st.integers(1, 12))
    echo = draw(st.booleans())  # does this server echo ids on MUTATION_SUCCESS?
    requests = []
    for k in range(n):
        kind = draw(st.sampled_from(["QUERY", "MUTATION"]))
        entity = draw(st.sampled_from(["partner", "cloud"]))
        op = draw(st.sampled_from(["CREATE", "UPDATE"])) if kind == "MUTATION" else None
        req = draw(st.sampled_from([None, f"r{k}"]))
        conn = draw(st.sampled_from(["c1", "c2"]))
        fails = draw(st.booleans()) and (req is not None or kind == "QUERY")
        if fails:
            reply = ("ERROR", None, None, req, conn)
        elif kind == "QUERY":
            reply = ("QUERY_RESULT", entity, None, req, conn)
        else:
            reply = ("MUTATION_SUCCESS", entity, op, req if echo else None, conn)
        requests.append(((kind, entity, op, req, conn), reply))
    frames: list[tuple[str, str | None, str | None, str | None, str]] = []
    expected: dict[int, int] = {}
    waiting: list[int] = []  # request numbers sent, reply not yet sent
    where: dict[int, int] = {}
    sent = 0
    while sent < n or waiting:
        eligible = [
            k for k in waiting
            if requests[k][1][3] is not None  # by id: any order
            or next(j for j in waiting if _candidate(requests[j][0], requests[k][1])) == k
        ]
        choices = eligible + ([-1] if sent < n else [])
        pick = draw(st.sampled_from(choices))
        if pick == -1:
            where[sent] = len(frames)
            frames.append(requests[sent][0])
            waiting.append(sent)
            sent += 1
        else:
            waiting.remove(pick)
            expected[len(frames)] = where[pick]
            frames.append(requests[pick][1])
    return frames, expected


@settings(max_examples=300, deadline=None)
@given(conversations())
def test_any_interleaving_pairs_every_reply_with_its_request(
    case: tuple[list[tuple[str, str | None, str | None, str | None, str]], dict[int, int]],
) -> None:
    frames, expected = case
    p = Pairing()
    for i, (type_, entity, op, req, conn) in enumerate(frames):
        answered = p.observe(i, float(i), type_, entity, op, req, conn)
        if i in expected:
            assert answered == expected[i]
    for reply, request in expected.items():
        pair = p.pair_of(reply)
        assert pair is not None
        assert replace(pair, guessed=False) == Pair(request, reply, float(reply - request), frames[reply][0] == "ERROR")
        assert not (pair.guessed and frames[reply][3] is not None)  # a pair by requestId is never a guess
        assert p.pair_of(request) == pair
        assert not p.is_orphan(reply)
    assert p.pending(now=0.0) == []


def test_pairs_across_column_blocks_and_eviction() -> None:
    """Columns grow by blocks of zeros: frames nobody pairs write nothing, and a pair still
    meets across block boundaries and after the window moved."""
    bus = Bus()
    q = bus.send("QUERY", req="far")
    for _ in range(5000):
        bus.send("SUBSCRIBE", dt=0.01)
    r = bus.send("QUERY_RESULT", req="far")
    assert bus.pairing.pair_of(q) == Pair(q, r, pytest.approx(60.0), False)  # type: ignore[arg-type]
    bus.pairing.evict(4500)
    assert bus.pairing.pair_of(q) is None and bus.pairing.pair_of(r).request == q  # type: ignore[union-attr]
    m = bus.send("MUTATION", op="UPDATE", req="m")
    for _ in range(4200):
        bus.send("CONSOLE_LOGS", dt=0.01)
    s = bus.send("MUTATION_SUCCESS", op="UPDATE")
    assert bus.pairing.pair_of(s).request == m and not bus.pairing.is_orphan(s)  # type: ignore[union-attr]
    assert bus.pairing.latency(bus.next_index - 2) is None and not bus.pairing.is_pending(bus.next_index - 2)
    with pytest.raises(ValueError, match="out of order"):
        bus.pairing.observe(bus.next_index + 1, bus.t, "QUERY", "x", None, None, "c1")
