"""compose_history.py: the sent-frames file, bounded, recalled and searched."""

from __future__ import annotations

import stat
from pathlib import Path

from busconsole import paths
from busconsole.compose.history import History


def frame(n: int, entity: str = "compute") -> dict[str, object]:
    return {"type": "QUERY", "entity": entity, "requestId": f"req_{n}", "payload": {"kind": entity}}


def test_history_lives_in_the_data_dir_private_and_survives_a_restart() -> None:
    h = History()
    h.append(frame(1))
    h.append(frame(2, "partner"))
    assert h.path == paths.data_dir() / "history.jsonl"
    assert stat.S_IMODE(h.path.stat().st_mode) == 0o600
    again = History()
    assert [e.frame["requestId"] for e in again.entries] == ["req_1", "req_2"]


def test_recall_walks_back_then_forward_to_the_draft(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    assert h.previous() is None and h.next() is None
    for n in range(3):
        h.append(frame(n))
    ids = lambda e: e.frame["requestId"] if e else None  # noqa: E731
    assert [ids(h.previous()) for _ in range(4)] == ["req_2", "req_1", "req_0", "req_0"]
    assert [ids(h.next()) for _ in range(3)] == ["req_1", "req_2", None]
    assert ids(h.previous()) == "req_2"
    h.append(frame(3))  # sending resets recall to the newest
    assert ids(h.previous()) == "req_3"


def test_history_is_bounded_on_disk_and_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    h = History(path, limit=10)
    for n in range(100):
        h.append(frame(n))
        assert len(path.read_bytes().splitlines()) <= 15
    assert len(h) == 10 and h.entries[-1].frame["requestId"] == "req_99"
    assert [e.frame["requestId"] for e in History(path, limit=10).entries] == [f"req_{n}" for n in range(90, 100)]


def test_search_is_case_insensitive_newest_first(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    h.append(frame(1, "partner"))
    h.append(frame(2, "compute"))
    h.append(frame(3, "Partner"))
    assert [e.frame["requestId"] for e in h.search("PARTNER")] == ["req_3", "req_1"]
    assert [e.frame["requestId"] for e in h.search("partner", limit=1)] == ["req_3"]
    assert h.search("nothing-like-this") == []


def test_torn_and_foreign_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b'{"t": 1, "frame": {"type": "QUERY"}}\nnot json\n[1]\n{"t": 2, "frame": 3}\n{"t": 3, "fra')
    h = History(path)
    assert [e.frame for e in h.entries] == [{"type": "QUERY"}]
    h.append(frame(9))
    assert [e.frame.get("requestId") for e in History(path).entries] == [None, "req_9"]


def test_oversized_frames_are_not_kept(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl", max_entry_bytes=200)
    assert h.append({"type": "MUTATION", "payload": {"blob": "x" * 500}}) is None
    assert h.append(frame(1)) is not None
    assert [e.frame["requestId"] for e in History(tmp_path / "h.jsonl").entries] == ["req_1"]
