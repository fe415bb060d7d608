"""A filter regex that backtracks catastrophically is stopped per frame, counted and reported."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from busconsole.filtering import patterns
from busconsole.filtering.errors import FilterError
from busconsole.filtering.patterns import TIMEOUTS, Pattern, timed_search
from busconsole.frames import CapturedFrame
from busconsole.recording.writer import RecordingWriter

CLI = [sys.executable, "-m", "busconsole.cli"]


def test_a_catastrophic_regex_is_stopped_and_counted() -> None:
    before = TIMEOUTS.counts.get("(a|aa)+$", 0)
    started = time.monotonic()
    assert not Pattern("regex", "(a|aa)+$").matches("a" * 60 + "!")
    assert time.monotonic() - started < 3
    assert TIMEOUTS.counts["(a|aa)+$"] == before + 1
    assert timed_search(patterns.compile_regex("b+"), "abbbc")


def test_a_bad_regex_is_still_a_filter_error_with_its_column() -> None:
    from busconsole.filtering import parse_filter

    with pytest.raises(FilterError):
        parse_filter("type:QUERY /(unclosed/")


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)+$"])
def test_replay_print_with_a_catastrophic_regex_finishes(tmp_path: Path, pattern: str) -> None:
    rec = tmp_path / "a.jsonl"
    with RecordingWriter(rec, "ws://x") as w:
        for i in range(5):
            raw = orjson.dumps({"type": "QUERY", "entity": "x", "id": f"r{i}", "payload": "a" * 40 + "!"})
            w.write(CapturedFrame(i, 1_700_000_000_000.0 + i, "out", "c1", raw, False))
    started = time.monotonic()
    res = subprocess.run([*CLI, "replay", str(rec), "--print", "--filter", f"/{pattern}/"],
                         capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 15
    assert res.returncode in (0, 1), res.stderr
    assert "Traceback" not in res.stderr
    if pattern == "(a|aa)+$":
        assert res.stderr.count("was stopped") == 1, res.stderr
