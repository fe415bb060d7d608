"""Snapshots of the main views over a deterministic store (fixed times and ids, UTC, no server).

Each test also writes its picture to screenshots/ for the README.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input
from tui_helpers import freeze_tz
from tui_sample import fill

from busconsole.sessions.base import StoreSession
from busconsole.store import EventStore
from busconsole.tui.app import BusConsoleApp

SIZE = (140, 40)
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture(autouse=True)
def _utc() -> None:
    freeze_tz()


def sample_app() -> BusConsoleApp:
    store = EventStore()
    fill(store)
    return BusConsoleApp(StoreSession(store, "ws://127.0.0.1:3013/store-debug", phase="connected"))


def shot(name: str, *keys: str) -> Any:
    """A run_before that presses ``keys``, settles, and saves screenshots/<name>.svg."""

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        for field in pilot.app.query(Input):
            field.cursor_blink = False  # a blinking cursor would make the picture random
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.3)
        SHOTS.mkdir(exist_ok=True)
        pilot.app.save_screenshot(filename=f"{name}.svg", path=str(SHOTS))

    return run_before


def test_stream(snap_compare: Any) -> None:
    """You should see the stream: 18 frames with times, arrows, coloured types, entity, op, requestId,
    latency (12/52/92 ms, 48 ms, 4 ms, one 'timeout'), sizes and summaries; the ERROR, the
    MALFORMED row and the CONSOLE_LOGS with an error tinted red; badges '4 errors' and 'console 1'."""
    assert snap_compare(sample_app(), terminal_size=SIZE, run_before=shot("stream"))


def test_detail_pair(snap_compare: Any) -> None:
    """You should see the detail pane on the Pair tab: the MUTATION on the left, its
    MUTATION_SUCCESS on the right, 'answered  latency 48.0 ms' above them."""
    keys = ["up"] * 7 + ["enter", "right_square_bracket", "right_square_bracket"]
    assert snap_compare(sample_app(), terminal_size=SIZE, run_before=shot("detail-pair", *keys))


def test_console_logs(snap_compare: Any) -> None:
    """You should see the console logs view: five messages with INFO/WARN/ERROR/DEBUG/LOG in their
    colours, session 'sess-7f3a', and the error's stack trace (PartnerRow.tsx:42:17) below."""
    keys = ["l", "up", "up"]
    assert snap_compare(sample_app(), terminal_size=SIZE, run_before=shot("console", *keys))


def test_filter_error(snap_compare: Any) -> None:
    """You should see the filter bar holding 'type:QUERY latency>' and under it the error
    'col 20: expected a value after …' with the end of the filter marked; the stream still shows every frame."""
    keys = ["slash", *"type:QUERY latency>", "enter"]
    assert snap_compare(sample_app(), terminal_size=SIZE, run_before=shot("filter-error", *keys))


def test_help(snap_compare: Any) -> None:
    """You should see the help screen: every key with its description by section (Stream, Moving,
    Filter bar, Console logs, Subscriptions), then the filter language's keys and syntax."""
    assert snap_compare(sample_app(), terminal_size=SIZE, run_before=shot("help", "question_mark"))
