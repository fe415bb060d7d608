"""The stream and the help at the smallest terminal we support (80×24) and a large one (160×45).

Each test also writes its picture to screenshots/ (stream-80x24.svg, …) for the README.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_snapshots import sample_app, shot
from tui_helpers import freeze_tz

SIZES = {"80x24": (80, 24), "160x45": (160, 45)}


@pytest.fixture(autouse=True)
def _utc() -> None:
    freeze_tz()


@pytest.mark.parametrize("size", SIZES)
def test_stream(snap_compare: Any, size: str) -> None:
    """You should see every column's title in one header line over rows that line up with it; at
    80×24 no requestId and op columns, still time, conn, type, entity, latency (12/52/92 ms),
    size and a summary on every row; the ERROR row reads 'Unknown entity kind…' in red. The info
    line shows whole toggles only (none cut), '✖ 4 errors' and '● following'; the status line
    starts with 'not recording'; the footer shows q / ? ⏎ ␣ n … without any key cut."""
    assert snap_compare(sample_app(), terminal_size=SIZES[size], run_before=shot(f"stream-{size}"))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, size: str) -> None:
    """You should see the help box inside the screen with its border whole (at 80×24 too), the
    keys by section: q / ? ⏎ esc ] [ f ␣ n N y c e r s l p 1–5, then Moving (g G …)."""
    assert snap_compare(sample_app(), terminal_size=SIZES[size], run_before=shot(f"help-{size}", "question_mark"))


@pytest.mark.parametrize("size", SIZES)
def test_detail_keeps_the_row(snap_compare: Any, size: str) -> None:
    """You should see the detail pane open on the QUERY_RESULT of 52 ms, its row highlighted in the
    part of the stream left above the pane; the footer offers esc Close detail and ] Next tab."""
    keys = ["up"] * 12 + ["enter"]
    assert snap_compare(sample_app(), terminal_size=SIZES[size], run_before=shot(f"detail-{size}", *keys))
