"""The help screen, generated from the bindings themselves and the filter language's own help.

Nothing here is written twice: a new binding with a description appears here (and in
the command palette) without touching this file.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from busconsole.filtering import help_text

# Textual's names of keys that print as one character
KEY_NAMES = {
    "space": "␣", "comma": ",", "full_stop": ".", "colon": ":", "slash": "/", "question_mark": "?",
    "plus": "+", "minus": "-", "equals_sign": "=", "left_square_bracket": "[", "right_square_bracket": "]",
    "enter": "⏎", "escape": "esc",
}


def key_label(key: str) -> str:
    """``g home`` for "home,g"… as the keyboard shows them: ``,`` rather than "comma"."""
    return " ".join(KEY_NAMES.get(k, k).replace("ctrl+", "^") for k in key.split(","))


def keys_table(sections: Iterable[tuple[str, Iterable[Binding]]]) -> Group:
    """Every described binding, by section: a title, then key and description in two columns
    (as narrow as the longest key, so descriptions keep the room on a small terminal)."""
    rows_by_section: list[tuple[str, list[tuple[str, str]]]] = []
    for title, bindings in sections:
        seen: set[tuple[str, str]] = set()
        rows: list[tuple[str, str]] = []
        for b in bindings:
            if not b.description or (b.key, b.action) in seen:
                continue
            seen.add((b.key, b.action))
            rows.append((key_label(b.key_display or b.key), b.tooltip or b.description))
        if rows:
            rows_by_section.append((title, rows))
    width = max((len(key) for _, rows in rows_by_section for key, _ in rows), default=1)
    parts: list[Text | Table] = []
    for title, rows in rows_by_section:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold #d7af5f", no_wrap=True, width=width)
        table.add_column()
        for key, text in rows:
            table.add_row(key, text)
        parts += [Text(title, "bold underline"), table, Text("")]
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    """Keys of every view, then the filter language."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help"),
    ]

    def __init__(self, sections: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text("busconsole — keys", "bold"), classes="help-title")
            yield Static(keys_table(self.sections), classes="help-keys")
            yield Static(Text("Filter language", "bold"), classes="help-title")
            yield Static(Text(help_text()), classes="help-filters")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
