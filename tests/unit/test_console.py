"""console.py: CONSOLE_LOGS batches expand into entries, filterable by level and text."""

from __future__ import annotations

from typing import Any

from busconsole.console import ConsoleEntry, ConsoleLog, entries_from_obj

BATCH: dict[str, Any] = {
    "type": "CONSOLE_LOGS",
    "metadata": {"source": "frontend", "sessionId": "s-meta"},
    "messages": [
        {"timestamp": 1758367256185, "level": "log", "message": "Connecting", "args": ["Connecting"]},
        {"timestamp": 1758367260355, "level": "ERROR", "message": "Bridge error", "args": ["x", {"isTrusted": True}],
         "stackTrace": "Error\n    at ws.onerror", "sessionId": "s-own", "source": "worker"},
        {"level": "warn", "message": "slow render"},
    ],
}


def test_entries_from_a_batch() -> None:
    log, err, warn = entries_from_obj(BATCH, 7)
    assert log == ConsoleEntry(7, 1758367256185.0, "log", "Connecting", ["Connecting"], None, "s-meta", "frontend")
    assert (err.level, err.stack_trace, err.session, err.source) == ("error", "Error\n    at ws.onerror", "s-own", "worker")
    assert err.args == ["x", {"isTrusted": True}]
    assert (warn.t, warn.args) == (None, [])


def test_one_message_line_and_odd_shapes() -> None:
    (line,) = entries_from_obj({"timestamp": 5, "level": "info", "message": "hello", "args": "solo"}, 3)
    assert (line.frame_index, line.level, line.t, line.args) == (3, "info", 5.0, ["solo"])
    (bare,) = entries_from_obj({"type": "CONSOLE_LOGS", "messages": [42]}, 0)
    assert (bare.level, bare.message) == ("log", "42")
    assert entries_from_obj({"type": "CONSOLE_LOGS"}, 0) == []


def _log(frames: dict[int, dict[str, Any]]) -> ConsoleLog:
    log = ConsoleLog(frames.get)
    for index, obj in frames.items():
        log.observe(index, obj)
    return log


def test_log_counts_filters_and_rebuilds_from_frames() -> None:
    second = {"type": "CONSOLE_LOGS", "messages": [{"level": "error", "message": "Boom in render"}]}
    log = _log({0: BATCH, 4: second})
    assert len(log) == 4
    assert log.count_by_level() == {"log": 1, "error": 2, "warn": 1}
    assert [e.message for e in log.entries(levels={"error"})] == ["Bridge error", "Boom in render"]
    assert [e.frame_index for e in log.entries(levels={"WARN", "log"})] == [0, 0]
    assert [e.message for e in log.entries(text="BOOM")] == ["Boom in render"]
    assert [e.message for e in log.entries(text="onerror")] == ["Bridge error"]  # stack traces too
    assert [e.message for e in log.entries(text="istrusted")] == ["Bridge error"]  # and args
    assert list(log.entries(levels={"debug"})) == []


def test_evict_drops_old_entries_and_counts() -> None:
    frames = {0: BATCH, 4: {"type": "CONSOLE_LOGS", "messages": [{"level": "error", "message": "later"}]}}
    log = _log(frames)
    log.evict(4)
    assert len(log) == 1 and log.count_by_level() == {"error": 1}
    assert [e.message for e in log.entries()] == ["later"]


def test_entries_of_lost_frames_are_skipped() -> None:
    frames = {0: BATCH}
    log = _log(frames)
    del frames[0]
    assert list(log.entries()) == [] and len(log) == 3
