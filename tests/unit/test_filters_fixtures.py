"""Filters over the real store-server debug logs (../shared/fixtures/orchestrix), read through the
recording reader into the event store, checked against counts made here with the json module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from busconsole.facts import FrameFacts
from busconsole.filtering import parse_filter
from busconsole.frames import CapturedFrame

pytestmark = pytest.mark.fixtures


def test_level_and_text_filters_agree_with_the_raw_logs(fixtures_dir: Path) -> None:
    from busconsole.recording.reader import open_recording
    from busconsole.store import EventStore

    files = sorted((fixtures_dir / "store-debug").glob("store-events-*.jsonl"))
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    counts = json.loads((fixtures_dir / "counts.json").read_text())["store_events"]
    store = EventStore()
    with open_recording(files, background=False) as rec:
        store.extend(rec)
    assert len(store) == len(lines) == counts["lines"]

    def frames_with(level: str) -> int:
        return sum(any(m.get("level") == level for m in line["messages"]) for line in lines)

    for level in counts["by_level"]:
        flt = parse_filter(f"level:{level}")
        assert len(flt.select(store)) == frames_with(level) > 0
        assert len(parse_filter(f"messages.level:{level}").select(store)) == frames_with(level)

    every = parse_filter("level:log,warn,error,info,debug").select(store)
    assert sum(len(store.frame(i).obj["messages"]) for i in every) == counts["console_messages"]

    bridge = sum("claude bridge" in json.dumps(line, ensure_ascii=False).lower() for line in lines)
    assert len(parse_filter('"Claude Bridge"').select(store)) == bridge > 0
    errors_not_bridge = parse_filter('level:error -"claude bridge"')
    for i in errors_not_bridge.select(store):
        assert b"claude bridge" not in store.frame(i).raw.lower()


def test_prefilter_keeps_every_matching_line_of_the_real_logs(fixtures_dir: Path) -> None:
    raw_lines = [line for f in sorted(fixtures_dir.rglob("*.jsonl"))
                 for line in f.read_bytes().splitlines() if line.strip()]
    for text in ('"isTrusted"', "stateBefore.meta.counts.partners:0", "messages.level:warn",
                 "query.criteria.partnerId:1", "type:QUERY", "bundle.js"):
        flt = parse_filter(text)
        kept = [line for line in raw_lines if flt.prefilter(line)]
        wanted = [line for line in raw_lines
                  if flt.matches(FrameFacts(CapturedFrame(0, 0.0, "in", "c1", line), 0))]
        assert wanted and set(wanted) <= set(kept), text
        assert len(kept) < len(raw_lines), text  # and it does rule lines out
