"""Subscriptions: which entities this session follows, how many updates each brought, add or drop one.

Entities already seen on the bus are offered too, so subscribing is one keypress.
The session re-subscribes after a reconnect by itself; this panel only edits the set.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from busconsole.sessions.base import Session


def entity_options(session: Session) -> list[Option]:
    """Subscribed entities first (with update counts), then the others seen on the bus."""
    subs = session.subscriptions
    seen = session.store.values("entity")
    options = []
    for entity in sorted(subs):
        label = Text.assemble(("● ", "bold green"), (entity, "bold"), (f"  {subs[entity]:,} updates", "green"))
        options.append(Option(label, id=entity))
    for entity in sorted(e for e in seen if e not in subs):
        label = Text.assemble(("○ ", "dim"), entity, (f"  {seen[entity]:,} frames seen", "dim"))
        options.append(Option(label, id=entity))
    return options


class SubscriptionsScreen(ModalScreen[None]):
    """``enter`` toggles the highlighted entity; type a new name and ``enter`` to subscribe to it."""

    BINDINGS = [
        Binding("escape,s", "dismiss", "Close subscriptions"),
        Binding("delete,u", "unsubscribe", "Unsubscribe the highlighted entity"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._shown: list[tuple[str, int]] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="subs-box", classes="modal-box"):
            yield Static(Text("Subscriptions", "bold"), classes="box-title")
            yield Input(placeholder="entity to subscribe to, then enter", id="subs-input")
            yield OptionList(id="subs-list")
            yield Static(Text("enter toggle · u unsubscribe · esc close", "dim"))

    def on_mount(self) -> None:
        self.refresh_list()
        self.set_interval(0.5, self.refresh_list)
        self.query_one(OptionList).focus()

    def refresh_list(self) -> None:
        shown = sorted(self.session.subscriptions.items()) + sorted(self.session.store.values("entity").items())
        if shown == self._shown:
            return
        self._shown = shown
        olist = self.query_one(OptionList)
        keep = olist.highlighted
        olist.clear_options()
        olist.add_options(entity_options(self.session))
        if keep is not None and olist.option_count:
            olist.highlighted = min(keep, olist.option_count - 1)

    @on(Input.Submitted, "#subs-input")
    async def _typed(self, event: Input.Submitted) -> None:
        entity = event.value.strip()
        if entity:
            await self.session.subscribe(entity)
            event.input.value = ""
            self.refresh_list()

    @on(OptionList.OptionSelected, "#subs-list")
    async def _toggle(self, event: OptionList.OptionSelected) -> None:
        entity = event.option.id
        if entity is None:
            return
        if entity in self.session.subscriptions:
            await self.session.unsubscribe(entity)
        else:
            await self.session.subscribe(entity)
        self.refresh_list()

    async def action_unsubscribe(self) -> None:
        olist = self.query_one(OptionList)
        if olist.highlighted is None:
            return
        entity = olist.get_option_at_index(olist.highlighted).id
        if entity in self.session.subscriptions:
            await self.session.unsubscribe(entity)
            self.refresh_list()

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
