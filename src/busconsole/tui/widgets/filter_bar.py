"""The filter bar: the filter language typed in, checked as you type, applied on enter.

A bad filter never reaches the stream: the error is shown under the input with its
column marked, and the last good filter stays applied. Applied filters go to a small
history file (up/down recall it) so a debugging session can be picked up again.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from busconsole import paths
from busconsole.filtering import Filter, FilterError, parse_filter

HISTORY_SIZE = 200


class FilterHistory:
    """Most recent last, no duplicates, bounded; kept in the XDG data dir."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.data_dir() / "filter-history"
        try:
            self.items = [ln for ln in self.path.read_text("utf-8").splitlines() if ln.strip()]
        except OSError:
            self.items = []

    def add(self, text: str) -> None:
        if not text.strip():
            return
        if text in self.items:
            self.items.remove(text)
        self.items.append(text)
        del self.items[:-HISTORY_SIZE]
        try:
            paths.ensure(self.path.parent)
            # 0600 like every file busconsole writes: filters name entities, ids and values
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), 0o600)  # a history written by an older version was 0644
                out.write("\n".join(self.items) + "\n")
        except OSError:
            pass  # history is a convenience; a read-only home must not break filtering


def error_text(source: str, err: FilterError) -> Text:
    """``col 7: message`` and the filter with the offending (1-based) column highlighted."""
    col = max(min(err.column - 1, len(source)), 0)
    text = Text(f"✖ col {err.column}: {err.message}   ", "bold red")
    text.append(source[:col])
    text.append(source[col : col + 1] or " ", "reverse red")
    text.append(source[col + 1 :])
    return text


class FilterBar(Vertical):
    """Hidden until ``/``; posts :class:`FilterBar.Applied` with a parsed filter."""

    BINDINGS = [
        Binding("escape", "cancel", "Close the filter bar", show=False),
        Binding("up", "recall(-1)", "Older filter", show=False),
        Binding("down", "recall(1)", "Newer filter", show=False),
    ]

    class Applied(Message):
        def __init__(self, text: str, flt: Filter | None) -> None:
            super().__init__()
            self.text = text
            self.filter = flt

    class Closed(Message):
        """The bar lost its purpose (escape or applied); focus goes back to the stream."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history = FilterHistory()
        self.applied = ""
        self._recall = 0

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: type:QUERY,MUTATION entity:partner latency>200 -type:STORE_UPDATE …  (enter applies, ? for help)", id="filter-input")
        yield Static("", id="filter-error", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    def open(self) -> None:
        self.display = True
        self._recall = len(self.history.items)
        self.input.focus()

    def set_text(self, text: str, apply: bool = True) -> None:
        """Put ``text`` in the bar and apply it (toggles and the entity picker use this)."""
        self.input.value = text
        if apply:
            self._apply(text)

    def check(self, text: str) -> Filter | None | FilterError:
        """The parsed filter (None when empty) or its error."""
        if not text.strip():
            return None
        try:
            return parse_filter(text)
        except FilterError as err:
            return err

    @on(Input.Changed, "#filter-input")
    def _changed(self, event: Input.Changed) -> None:
        result = self.check(event.value)
        label = self.query_one("#filter-error", Static)
        if isinstance(result, FilterError):
            label.update(error_text(event.value, result))
            self.add_class("-error")
        else:
            label.update("")
            self.remove_class("-error")

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._apply(event.value):
            self.post_message(self.Closed())

    def _apply(self, text: str) -> bool:
        result = self.check(text)
        if isinstance(result, FilterError):
            return False
        self.applied = text
        self.history.add(text)
        self.post_message(self.Applied(text, result))
        return True

    def action_cancel(self) -> None:
        self.input.value = self.applied
        self.post_message(self.Closed())

    def action_recall(self, step: int) -> None:
        items = self.history.items
        if not items:
            return
        self._recall = min(max(self._recall + step, 0), len(items))
        self.input.value = items[self._recall] if self._recall < len(items) else ""
        self.input.cursor_position = len(self.input.value)
