"""Every real format of the store server's debug folder, read as it is: entity, direction,
reply, error and latency of each kind of line, with the counts of counts.json."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import fixture_total

from busconsole.filtering import parse_filter
from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.reader import open_recording
from busconsole.render import summary
from busconsole.store.file import FileStore, load

pytestmark = pytest.mark.fixtures

STORE_LOG = "store-logs/store-events-2025-09-19T20-17-28.jsonl"
MACHINE_LOG = "logs/store-history-2025-09-19-18.jsonl"


def counts(fixtures_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((fixtures_dir / "counts.json").read_text())
    return result


def frames_of(*paths: Path) -> tuple[list[CapturedFrame], list[str]]:
    with open_recording(list(paths)) as rec:
        rec.wait()
        return list(rec), list(rec.problems)


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


class Loaded:
    """A whole input in a FileStore (paired as the TUI and the CLI pair it)."""

    def __init__(self, *paths: Path) -> None:
        self.rec = open_recording(list(paths))
        self.store: FileStore = load(self.rec)

    def select(self, text: str) -> list[int]:
        return list(parse_filter(text).select(self.store))

    def close(self) -> None:
        self.rec.close()


@pytest.fixture
def loaded() -> Iterator[Any]:
    opened: list[Loaded] = []

    def open_(*paths: Path) -> Loaded:
        opened.append(Loaded(*paths))
        return opened[-1]

    yield open_
    for one in opened:
        one.close()


# ---------------------------------------------------------------------- <entity>/history.jsonl


def test_entity_history_takes_its_entity_and_connection_from_the_folder(fixtures_dir: Path) -> None:
    path = fixtures_dir / "store-debug" / "compute" / "history.jsonl"
    expected = counts(fixtures_dir)["breakdown"]["store-debug/compute/history.jsonl"]
    got, problems = frames_of(path)
    assert problems == [] and len(got) == counts(fixtures_dir)["store-debug/compute/history.jsonl"]
    assert Counter(f.type for f in got) == expected
    assert {(f.type, f.dir) for f in got} == {("QUERY", OUT), ("QUERY_RESULT", IN)}
    assert {f.conn for f in got} == {"compute"}
    assert all(f.obj is not None and f.obj["entity"] == "compute" and "stateBefore" in f.obj for f in got)
    originals = lines_of(path)
    for frame, line in zip(got, originals, strict=True):  # every field of the line is kept
        assert frame.obj is not None and {k: v for k, v in frame.obj.items() if k != "entity"} == line


def test_history_query_results_say_how_many_rows_they_hold(fixtures_dir: Path) -> None:
    got, _ = frames_of(fixtures_dir / "store-debug" / "compute" / "history.jsonl")
    results = [f for f in got if f.type == "QUERY_RESULT"]
    for frame in results:
        state = frame.obj["stateAfter"]  # type: ignore[index]
        rows = state["data"]["data"]
        assert summary(frame) == f"{len(rows)} row{'' if len(rows) == 1 else 's'} of compute"
    assert all("0 rows" not in summary(f) and "of ?" not in summary(f) for f in results)


def test_entity_filter_finds_the_history_of_a_folder(fixtures_dir: Path, loaded: Any) -> None:
    whole = loaded(fixtures_dir)
    compute = counts(fixtures_dir)["breakdown"]["store-debug/compute/history.jsonl"]
    assert len(whole.select("entity:compute type:QUERY_RESULT")) == compute["QUERY_RESULT"]
    assert len(whole.select("entity:cloud")) == counts(fixtures_dir)["store-debug/cloud/history.jsonl"]
    assert len(whole.select("entity:infrastructure")) == counts(fixtures_dir)["store-debug/infrastructure/history.jsonl"]


def test_stores_of_one_folder_never_pair_with_each_other(fixtures_dir: Path, loaded: Any) -> None:
    one = loaded(fixtures_dir / "store-debug")
    store = one.store
    pairs = [p for i in range(len(store)) if (p := store.pairing.pair_of(i)) is not None and p.request == i]
    assert len(pairs) == counts(fixtures_dir)["breakdown"]["store-debug/compute/history.jsonl"]["QUERY_RESULT"]
    for pair in pairs:
        request, reply = store.facts(pair.request), store.facts(pair.reply)
        assert (request.conn, request.entity) == (reply.conn, reply.entity) == ("compute", "compute")
        assert 0 <= pair.latency < 100  # a compute query answered within ms, never by another store's reply
    # the cloud history holds queries only: they are left waiting, and nothing answers them
    pending = store.pairing.pending(now=store.now_ms)
    assert {(p.entity, p.conn) for p in pending} == {("cloud", "cloud")}
    assert len(pending) == counts(fixtures_dir)["store-debug/cloud/history.jsonl"]


def test_state_changed_lines_are_frames_not_malformed(fixtures_dir: Path, loaded: Any) -> None:
    path = fixtures_dir / "store-debug" / "infrastructure" / "history.jsonl"
    got, problems = frames_of(path)
    assert problems == [] and len(got) == counts(fixtures_dir)["store-debug/infrastructure/history.jsonl"]
    assert {(f.type, f.dir, f.conn) for f in got} == {("STATE_CHANGED", IN, "infrastructure")}
    assert all(f.obj is not None and f.obj["event"] == "state_changed" and f.obj["entity"] == "infrastructure"
               for f in got)
    assert all("changed" in summary(f) or summary(f) == "no change" for f in got)
    assert loaded(path).select("is:malformed") == []


# ---------------------------------------------------------------------- store-logs/store-events-*.jsonl


def test_store_request_log_lines_are_requests_replies_and_an_error(fixtures_dir: Path) -> None:
    got, problems = frames_of(fixtures_dir / STORE_LOG)
    assert problems == [] and len(got) == counts(fixtures_dir)[STORE_LOG]
    kinds = Counter((f.obj["log"]["type"], f.obj["log"]["operation"], f.type, f.dir)  # type: ignore[index]
                    for f in got)
    expected = counts(fixtures_dir)["breakdown"][STORE_LOG]
    bus = {"REQUEST": ("REQUEST", OUT), "QUERY_START": ("QUERY", OUT), "QUERY_SUCCESS": ("QUERY_RESULT", IN),
           "DELETE_START": ("MUTATION", OUT), "DELETE_ERROR": ("ERROR", IN)}
    assert kinds == Counter({(kind, op, *bus[op]): n for key, n in expected.items()
                             for kind, op in [key.split(" ")]})
    delete = next(f for f in got if f.type == "MUTATION")
    assert delete.obj is not None and delete.obj["operation"] == "DELETE" and delete.obj["entity"] == "compute"
    error = next(f for f in got if f.type == "ERROR")
    assert error.obj is not None and "DELETE requires criteria" in error.obj["error"]
    assert error.obj["data"]["exception"] == "java.sql.SQLException"  # the line's own fields stay


def test_store_request_log_replies_carry_their_recorded_duration(fixtures_dir: Path, loaded: Any) -> None:
    one = loaded(fixtures_dir / STORE_LOG)
    store, lines = one.store, lines_of(fixtures_dir / STORE_LOG)
    breakdown = counts(fixtures_dir)["breakdown"][STORE_LOG]
    assert store.pairing.pending_count() == 0  # not 185: every query and the delete were answered
    replies = [i for i in range(len(store)) if store.facts(i).type in ("QUERY_RESULT", "ERROR")]
    assert len(replies) == breakdown["query QUERY_SUCCESS"] + breakdown["mutation DELETE_ERROR"]
    for i in replies:
        duration = lines[i]["duration"]
        pair = store.pairing.pair_of(i)
        assert pair is not None and pair.latency == duration
        request = store.facts(pair.request)
        assert request.t == store.facts(i).t - duration  # the request sent that long before
        assert request.type in ("QUERY", "MUTATION") and request.entity == store.facts(i).entity
    assert len(one.select("is:request")) == breakdown["query REQUEST"] + breakdown["query QUERY_START"] + 1
    assert len(one.select("is:reply")) == len(replies)
    errors = one.select("is:error")
    assert [store.facts(i).type for i in errors] == ["MUTATION", "ERROR"]  # the failed delete and its error
    assert one.select("is:failed") == errors[:1]
    assert store.facts(errors[0]).latency == 34


# ---------------------------------------------------------------------- logs/store-history-*.jsonl


def test_state_machine_history_errors_are_errors_with_the_entity_the_data_names(
    fixtures_dir: Path, loaded: Any
) -> None:
    path = fixtures_dir / MACHINE_LOG
    got, problems = frames_of(path)
    lines = lines_of(path)
    assert problems == [] and len(got) == counts(fixtures_dir)[MACHINE_LOG] == len(lines)
    failures = [line for line in lines if line["event"].startswith("xstate.error.")]
    assert failures and sum(f.type == "ERROR" for f in got) == len(failures)
    for frame, line in zip(got, lines, strict=True):
        obj = frame.obj
        assert obj is not None and obj["event"] == line["event"] and obj["sequence"] == line["sequence"]
        if line["event"] == "machine":
            assert obj["entity"] == line["data"]["storeName"]
        elif line["event"] == "QUERY":
            assert frame.dir == OUT and obj["entity"] == line["data"]["event"]["query"]["kind"]
        else:
            assert frame.type == "ERROR" and obj["error"] == "Operation failed" and obj.get("entity") is None
    one = loaded(path)
    errors = one.select("is:error")
    queries = [i for i in range(len(one.store)) if one.store.facts(i).type == "QUERY"]
    assert len(errors) == len(failures) + len(queries)  # each query failed, each error answered one
    assert one.select("is:failed") == queries and one.store.pairing.pending_count() == 0


# ---------------------------------------------------------------------- console-logs-*.jsonl


def console_line(level: str, message: str, client: int, received: Any) -> bytes:
    line: dict[str, Any] = {"timestamp": client, "isoTimestamp": "", "level": level, "message": message,
                            "args": [], "source": "frontend"}
    if received is not None:
        line["receivedAt"] = received
    return orjson.dumps(line) + b"\n"


def test_console_log_lines_are_ordered_by_the_server_receipt_time(tmp_path: Path) -> None:
    # a frontend whose clock runs an hour behind: its own timestamps would put it first
    a = tmp_path / "server-a" / "console-logs-2025-09-22.jsonl"
    b = tmp_path / "server-b" / "console-logs-2025-09-22.jsonl"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_bytes(console_line("log", "a1", 1_000_000, 5_000_000) + console_line("error", "a2", 1_000_100, 5_000_200))
    b.write_bytes(console_line("warn", "b1", 4_999_000, "1970-01-01T01:23:20.100Z")  # 5_000_100 ms
                  + console_line("log", "b2", 4_999_500, None))  # no receivedAt: the client's clock
    got, problems = frames_of(a, b)
    assert problems == []
    assert [(f.obj["messages"][0]["message"], f.t) for f in got] == [  # type: ignore[index]
        ("b2", 4_999_500.0), ("a1", 5_000_000.0), ("b1", 5_000_100.0), ("a2", 5_000_200.0)]
    first = got[1].obj
    assert first is not None and first["timestamp"] == 5_000_000 and first["messages"][0]["timestamp"] == 1_000_000


# ---------------------------------------------------------------------- the whole tree


def test_the_whole_tree_reads_without_a_malformed_frame(fixtures_dir: Path, loaded: Any) -> None:
    got, problems = frames_of(fixtures_dir)
    assert problems == [] and len(got) == fixture_total(fixtures_dir)
    assert all(f.obj is not None for f in got)
    one = loaded(fixtures_dir)
    assert one.select("is:malformed") == []
    assert one.store.pairing.pending_count() == counts(fixtures_dir)["store-debug/cloud/history.jsonl"]
