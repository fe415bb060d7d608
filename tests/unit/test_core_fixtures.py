"""The core over real store-server debug logs: console entries and level counts match counts.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from busconsole.console import entries_from_obj
from busconsole.frames import CapturedFrame
from busconsole.store import EventStore

pytestmark = pytest.mark.fixtures


def _batches(fixtures_dir: Path) -> list[dict[str, Any]]:
    lines = []
    for path in sorted((fixtures_dir / "store-debug").glob("store-events-*.jsonl")):
        lines.extend(orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip())
    return lines


def _frame(seq: int, line: dict[str, Any]) -> CapturedFrame:
    """A store-events line is a received CONSOLE_LOGS frame, written back with its own envelope."""
    obj = {"type": "CONSOLE_LOGS", "messages": line["messages"], "timestamp": line["timestamp"],
           "metadata": line.get("metadata")}
    return CapturedFrame(seq, float(line["timestamp"]), "out", "frontend", orjson.dumps(obj))


def test_console_entries_and_levels_match_counts(fixtures_dir: Path) -> None:
    counts = orjson.loads((fixtures_dir / "counts.json").read_bytes())["store_events"]
    lines = _batches(fixtures_dir)
    assert len(lines) == counts["lines"]
    store = EventStore()
    store.extend(_frame(seq, line) for seq, line in enumerate(lines))
    assert len(store.console) == counts["console_messages"]
    assert store.console.count_by_level() == counts["by_level"]
    assert {lv: len(store.positions("level", lv)) for lv in counts["by_level"]} == {
        lv: sum(1 for line in lines if any(m["level"] == lv for m in line["messages"])) for lv in counts["by_level"]
    }
    errors = list(store.console.entries(levels={"error"}))
    assert len(errors) == counts["by_level"]["error"]
    assert all(e.stack_trace for e in errors)  # the browser attaches one to every console.error
    assert list(store.error_positions()) == list(store.positions("level", "error"))


def test_entries_keep_every_field_of_the_messages(fixtures_dir: Path) -> None:
    lines = _batches(fixtures_dir)
    store = EventStore()
    store.extend(_frame(seq, line) for seq, line in enumerate(lines))
    got = list(store.console.entries())
    want = [(m, line["metadata"]) for line in lines for m in line["messages"]]
    assert [(e.t, e.level, e.message, e.args, e.stack_trace, e.source, e.session) for e in got] == [
        (m["timestamp"], m["level"], m["message"], m["args"], m.get("stackTrace"), m["source"],
         m.get("sessionId") or meta["sessionId"])  # the batch names the session when a message does not
        for m, meta in want
    ]
    # the reader can expand a raw store-events line the same way, without a store
    assert sum(len(entries_from_obj(line, k)) for k, line in enumerate(lines)) == len(want)
