"""Any terminal: the stream's columns narrow and drop by priority, the info line never cuts a toggle,
the help fits 80×24, the footer shows what matters now; the status line is honest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Footer
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast
from tui_helpers import freeze_tz, static_text
from tui_sample import fill

from busconsole.sessions.base import SessionStatus, StoreSession
from busconsole.store import EventStore
from busconsole.tui.app import TYPE_TOGGLES, BusConsoleApp
from busconsole.tui.screens.help import HelpScreen, key_label, keys_table
from busconsole.tui.widgets.status import RateMeter, StatusBar, status_text
from busconsole.tui.widgets.stream import (
    COLUMNS,
    SUMMARY_LEAST,
    column_widths,
    header_text,
    row_text,
)

SMALL = (80, 24)


@pytest.fixture(autouse=True)
def _utc() -> None:
    freeze_tz()


def sample() -> EventStore:
    store = EventStore()
    fill(store)
    return store


def sample_app() -> BusConsoleApp:
    return BusConsoleApp(StoreSession(sample(), "ws://127.0.0.1:3013/store-debug", phase="connected"))


def index_of(store: EventStore, kind: str) -> int:
    return next(i for i in range(len(store)) if store.facts(i).type == kind)


# ---------------------------------------------------------------------- columns


@pytest.mark.parametrize("width", [79, 99, 119, 139, 159])
def test_rows_fit_the_width_with_latency_size_and_summary(width: int) -> None:
    store = sample()
    header = header_text(width).plain
    for title in ("time", "type", "latency", "size", "summary"):
        assert title in header, f"{title} at {width}"
    summary_at = header.index("summary")
    for i in range(len(store)):
        line = row_text(store.facts(i), width)
        assert line.cell_len <= width
        assert len(line.plain) - len(line.plain[summary_at:]) == summary_at  # columns line up
    error = row_text(store.facts(index_of(store, "ERROR")), width).plain
    assert "Unknown entity" in error[summary_at:]
    reply = row_text(store.facts(index_of(store, "QUERY_RESULT")), width).plain
    assert "12 ms" in reply and "284 B" in reply and "2 rows of partner" in reply


def test_columns_narrow_before_they_drop_and_the_summary_stays() -> None:
    assert column_widths(160) == tuple(c.width for c in COLUMNS)
    at_80 = dict(zip((c.title for c in COLUMNS), column_widths(79), strict=True))
    assert at_80["requestId"] == 0 and at_80["op"] == 0  # dropped first
    assert at_80["latency"] and at_80["size"] and at_80["type"] and at_80["time"]
    for width in range(40, 200):
        widths = column_widths(width)
        used = sum(w + 1 for w in widths if w)
        assert used + SUMMARY_LEAST <= width or widths[3] == COLUMNS[3].least  # only type is left to narrow
        assert widths[3] > 0  # the type is never dropped


# ---------------------------------------------------------------------- the info line


async def test_the_info_line_shows_whole_toggles_only() -> None:
    app = sample_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        app.hidden_types |= set(TYPE_TOGGLES["3"][1])
        short = {"1": "qry", "2": "mut", "3": "upd", "4": "log", "5": "conn"}
        for width in range(20, 120):
            text = app._info_left(width)
            plain = text.plain
            assert text.cell_len <= max(width, len("frames 18  READ-ONLY")), width
            for key, (label, _) in TYPE_TOGGLES.items():
                if f"  {key} " in plain:
                    assert plain.split(f"  {key} ", 1)[1].startswith((label, short[key])), (width, plain)
            if width >= 60:
                assert "3 upd" in plain, width  # a hidden type is the last thing to go


async def test_the_info_line_fits_80_columns() -> None:
    app = sample_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        app.tick()
        await pilot.pause()
        left = static_text(app.info_left, 200).rstrip()
        right = static_text(app.info_right, 200).strip()
        assert app.info_left.region.width + app.info_right.region.width <= 80
        assert len(left) <= app.info_left.region.width
        assert "✖ 4 errors" in right and "following" in right


async def test_one_error_is_an_error() -> None:
    from tui_sample import Feeder

    store = EventStore()
    Feeder(store).add("in", {"type": "ERROR", "error": "boom"})
    app = BusConsoleApp(StoreSession(store, "t", phase="connected"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert "✖ 1 error " in app._info_right().plain
        Feeder(store).add("in", {"type": "ERROR", "error": "boom again"})
        assert "✖ 2 errors " in app._info_right().plain


# ---------------------------------------------------------------------- help and footer


async def test_help_fits_80x24_and_documents_every_key() -> None:
    app = sample_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body")
        assert body.region.x >= 0 and body.region.right <= 80 and body.region.bottom <= 24
    keys = help_keys(app)
    for key in ("n", "N", "f", "p", "y", "e", "r", "1", "2", "3", "4", "5", "g", "G", "esc", "]", "["):
        assert key in keys, key
    assert key_label("comma") == "," and key_label("full_stop") == "." and key_label("home,g") == "home g"


def footer_keys(app: BusConsoleApp) -> list[str]:
    return [key.key_display for key in app.screen.query_one(Footer).query(FooterKey)]


def footer_cells(app: BusConsoleApp) -> int:
    return sum(key.region.width + 1 for key in app.screen.query_one(Footer).query(FooterKey))


async def test_the_footer_shows_what_matters_now_and_fits() -> None:
    app = sample_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        app.tick()
        await pilot.pause()
        keys = footer_keys(app)
        assert {"q", "/", "?", "⏎", "n"} <= set(keys)  # errors so far: n goes to the next one
        assert "f" not in keys and "esc" not in keys and "y" not in keys  # following; no pane, no filter
        assert footer_cells(app) <= 80
        await pilot.press("up", "up")
        app.tick()
        await pilot.pause()
        assert "f" in footer_keys(app)  # not following any more: f follows again
        await pilot.press("enter")
        await pilot.pause()
        keys = footer_keys(app)
        assert "esc" in keys and "]" in keys and "⏎" not in keys
        assert footer_cells(app) <= 80
        await pilot.press("escape", "slash", *"type:QUERY", "enter")
        app.tick()
        await pilot.pause()
        descriptions = [k.description for k in app.screen.query_one(Footer).query(FooterKey)]
        assert "Clear filter" in descriptions and "Close detail" not in descriptions


async def test_the_welcome_toast_leaves_the_status_line_visible() -> None:
    app = sample_app()
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        app.notify("c2, c3, … are simulated frontends seen through a proxy; c1 is you.\n" + "Try: " * 30,
                   title="busconsole demo", timeout=20)
        await pilot.pause(0.2)
        toast = app.screen.query_one(Toast)
        status = app.query_one(StatusBar)
        assert toast.region.bottom <= status.region.y
        assert not toast.region.overlaps(status.region)


# ---------------------------------------------------------------------- status


def test_recording_comes_first_and_is_red_when_it_fails() -> None:
    status = SessionStatus(phase="connected", recording_path=Path("/tmp/s.bcr"), recording_bytes=2048)
    line = status_text("ws://example:3013/a-very-long-path-that-a-narrow-terminal-cuts", status, RateMeter(), 0)
    assert line.plain.startswith("● REC s.bcr 2.0 KB")
    status.unrecorded, status.record_error = 12, "No space left on device"
    line = status_text("t", status, RateMeter(), 0)
    assert line.plain.startswith(" REC ✖ 12 frames not written  No space left on device")
    styles = {str(span.style) for span in line.spans if line.plain[span.start:span.end].startswith(" REC ✖")}
    assert any("red" in s for s in styles)
    assert status_text("t", SessionStatus(phase="connected"), RateMeter(), 0).plain.startswith("not recording")


async def test_status_line_starts_with_recording_at_80_columns() -> None:
    app = sample_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert static_text(app.query_one(StatusBar), 78).startswith("not recording")


def help_keys(app: BusConsoleApp) -> set[str]:
    """The key column of the help screen's table, as printed."""
    from rich.console import Console

    console = Console(width=120, record=True, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(keys_table(app.help_sections()))
    return {key for ln in console.export_text().splitlines() for key in ln.strip()[:10].split()}


async def test_replay_help_documents_step_and_jump_keys(tmp_path: Path) -> None:
    from busconsole.recording.writer import RecordingWriter
    from busconsole.sessions.file import FileSession
    from busconsole.tui.replay import ReplayApp

    path = tmp_path / "s.jsonl"
    store = sample()
    with RecordingWriter(path, "ws://127.0.0.1:3013/store-debug") as writer:
        for i in range(len(store)):
            writer.write(store.frame(i))
    app = ReplayApp(FileSession([path]))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        keys = help_keys(app)
        for key in (".", ",", ":", "+", "-", "g", "G", "n", "N", "f", "b", "␣"):
            assert key in keys, key
        await pilot.press("question_mark")
        await pilot.pause()
        body = app.screen.query_one("#help-body")
        assert body.region.right <= 80 and body.region.bottom <= 24
