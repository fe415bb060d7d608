"""The app's main screen, whose footer shows the keys that matter in the present context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import ActiveBinding, Binding
from textual.screen import Screen

# Which keys the footer keeps when it is too narrow for all that apply, most wanted first; keys of
# other actions (a subclass's own) rank where None is. Every key is in the help screen (?) anyway.
FOOTER_PRIORITY: tuple[str | None, ...] = (
    "quit", "help", "filter", "close_detail", "clear_filter", None, "follow", "next_error",
    "detail_tab(1)", "copy", "detail", "pause", "console_logs", "compose", "subscriptions",
)


def footer_width(binding: Binding, key_display: str) -> int:
    """Cells a key takes in the compact footer: key, space, description, margin."""
    return len(key_display) + len(binding.description) + 2


class MainScreen(Screen[None]):
    """The app's screen: its footer shows the keys that matter in the present context, as many
    as fit, by FOOTER_PRIORITY."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        bindings = super().active_bindings
        app = self.app
        from busconsole.tui.app import BusConsoleApp  # the app module imports this one

        if not isinstance(app, BusConsoleApp):
            return bindings
        shown = [(key, active) for key, active in bindings.items()
                 if active.binding.show and app.in_footer(active.binding.action)]
        middle = FOOTER_PRIORITY.index(None)

        def rank(action: str) -> int:
            return FOOTER_PRIORITY.index(action) if action in FOOTER_PRIORITY else middle

        room = self.size.width
        keep: set[str] = set()
        for key, active in sorted(shown, key=lambda item: rank(item[1].binding.action)):
            cells = footer_width(active.binding, app.get_key_display(active.binding))
            if cells <= room:
                keep.add(key)
                room -= cells
        return {
            key: active if not active.binding.show or key in keep
            else active._replace(binding=replace(active.binding, show=False))
            for key, active in bindings.items()
        }


def binding_commands(app: App[Any]) -> Iterator[SystemCommand]:
    """Every described binding of ``app`` as a palette command, so the palette and the keys
    never disagree."""
    for b in app.BINDINGS:
        if isinstance(b, Binding) and b.description and b.action != "command_palette":
            doc = getattr(getattr(app, f"action_{b.action.split('(')[0]}", None), "__doc__", None)
            hint = f"key {b.key_display or b.key}" + (f" — {doc.strip()}" if doc else "")
            yield SystemCommand(b.description, hint, partial(app.run_action, b.action))
