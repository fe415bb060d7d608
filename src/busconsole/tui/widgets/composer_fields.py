"""Input helpers for the composer: entity completion that follows the bus as it fills up, and
fields where Tab always moves focus."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual import events
from textual.suggester import Suggester
from textual.widgets import Input


class LiveSuggester(Suggester):
    """Completes from ``values()`` asked on every keystroke, so entities first seen on the bus a
    second ago are offered (``SuggestFromList`` would freeze the list at mount time)."""

    def __init__(self, values: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # folded here, keeping the typed value
        self._values = values

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        needle = value.casefold()
        candidates = sorted(v for v in set(self._values()) if v.casefold().startswith(needle) and v != value)
        return min(candidates, key=len) if candidates else None


class FieldInput(Input):
    """A composer field where Tab always moves focus, however fast the next keys come.

    Textual hands keys to the focused widget's queue; Tab reaches the screen's focus binding
    only after bubbling up, so the keys typed right after it (``partner<Tab>{"criteria"…``)
    were already queued here and landed in this field, the Tab seemingly lost while the
    suggester kept the field busy. Here Tab moves focus at once, and a key that arrives
    after focus has left is passed on to the widget that has it now.
    """

    async def _on_key(self, event: events.Key) -> None:
        if event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                self.screen.focus_next()
            else:
                self.screen.focus_previous()
            return
        focused = self.screen.focused
        if focused is not None and focused is not self:  # has_focus follows a step behind
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
