"""The help screen, generated from the bindings themselves and the filter language's own help.

Nothing here is written twice: a new binding with a description appears here (and in
the command palette) without touching this file.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from busconsole.filtering import help_text


def key_label(key: str) -> str:
    return " ".join(k.replace("ctrl+", "^").replace("space", "␣") for k in key.split(","))


def keys_table(sections: Iterable[tuple[str, Iterable[Binding]]]) -> Table:
    """A two-column table of every described binding, by section."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold #d7af5f", no_wrap=True, min_width=10)
    table.add_column()
    for title, bindings in sections:
        rows = [b for b in bindings if b.description]
        if not rows:
            continue
        table.add_row(Text(title, "bold underline"), "")
        for b in rows:
            table.add_row(key_label(b.key_display or b.key), b.description)
        table.add_row("", "")
    return table


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
