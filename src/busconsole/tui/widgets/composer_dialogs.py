"""Small modal dialogs the composer opens: confirm a risky send, name a template, pick from a list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

T = TypeVar("T")

DIALOG_CSS = """
ModalScreen.composer-dialog { align: center middle; }
ModalScreen.composer-dialog > Vertical {
    width: 80%; max-width: 100; height: auto; max-height: 80%;
    border: thick $primary; background: $surface; padding: 0 1;
}
ModalScreen.composer-dialog .title { text-style: bold; margin-bottom: 1; }
ModalScreen.composer-dialog Horizontal { height: auto; align-horizontal: right; }
ModalScreen.composer-dialog Button { margin-left: 1; }
ModalScreen.composer-dialog OptionList { height: auto; max-height: 20; }
"""


class ConfirmSend(ModalScreen[bool]):
    """Asks before a DELETE or an oversized frame goes out; ``y`` sends, ``n``/escape does not."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [
        Binding("y", "answer(True)", "Send"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, prompt: str) -> None:
        super().__init__(classes="composer-dialog")
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Confirm send", classes="title")
            yield Label(self.prompt, id="confirm-prompt")
            with Horizontal():
                yield Button("Send (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", id="confirm-no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class NamePrompt(ModalScreen[str | None]):
    """One line of text (a template name); enter accepts, escape cancels."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="composer-dialog")
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Input(self.value, placeholder=self.placeholder, id="name-input")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if name:
            self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Picker(ModalScreen[T | None], Generic[T]):
    """A searchable list: typing narrows it through ``search``, enter picks the highlighted item."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(self, title: str, search: Callable[[str], Sequence[tuple[str, T]]]) -> None:
        super().__init__(classes="composer-dialog")
        self.title_text = title
        self.search = search
        self._values: list[T] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Input(placeholder="type to search", id="picker-search")
            yield OptionList(id="picker-list")

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, text: str) -> None:
        found = list(self.search(text))
        self._values = [value for _, value in found]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(label) for label, _ in found] or [Option("(nothing matches)", disabled=True)])
        options.highlighted = 0 if found else None

    @on(Input.Changed, "#picker-search")
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if self._values:
            current = options.highlighted or 0
            options.highlighted = max(0, min(len(self._values) - 1, current + step))

    @on(Input.Submitted, "#picker-search")
    def _submitted(self) -> None:
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is not None and highlighted < len(self._values):
            self.dismiss(self._values[highlighted])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self._values):
            self.dismiss(self._values[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
