"""Helpers for pilot tests: bounded waits on conditions, text of widgets and stream rows."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

WAIT_SECONDS = 30.0  # the machine is shared and slow; conditions usually hold in well under a second


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Poll ``condition`` between pilot pauses until it holds; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


def static_text(widget: Static, width: int = 140) -> str:
    """What a Static shows, as plain text (rich renderables included)."""
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def stream_lines(app: Any) -> list[str]:
    stream = app.stream
    return [stream.row(r, 140)[0].plain for r in range(stream.row_count())]


def freeze_tz() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
