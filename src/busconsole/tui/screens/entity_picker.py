"""Pick an entity seen on the bus (most frequent first) to narrow the stream to it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

ALL = "\x00all"  # the option id meaning "no entity term"


class EntityPicker(ModalScreen[str | None]):
    """Dismisses with the chosen entity, ``ALL`` for every entity, or None when cancelled."""

    BINDINGS = [Binding("escape", "dismiss", "Close the entity picker")]

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__()
        self.counts = counts

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="modal-box"):
            yield Static(Text("Show only one entity", "bold"), classes="box-title")
            yield Input(placeholder="type to narrow…", id="picker-input")
            yield OptionList(id="picker-list")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, needle: str) -> None:
        olist = self.query_one(OptionList)
        olist.clear_options()
        if not needle:
            olist.add_option(Option(Text("(every entity)", "italic"), id=ALL))
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        for entity, n in ranked:
            if needle.lower() in entity.lower():
                olist.add_option(Option(Text.assemble((entity, "bold"), (f"  {n:,}", "dim")), id=entity))
        if olist.option_count:
            olist.highlighted = 0

    @on(Input.Changed, "#picker-input")
    def _narrow(self, event: Input.Changed) -> None:
        self._fill(event.value.strip())

    @on(Input.Submitted, "#picker-input")
    def _take_first(self) -> None:
        olist = self.query_one(OptionList)
        if olist.highlighted is not None:
            self.dismiss(olist.get_option_at_index(olist.highlighted).id)

    @on(OptionList.OptionSelected, "#picker-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss(self, result: str | None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
