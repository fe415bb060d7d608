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

# The one modal style (busconsole.tcss has the same rule for every ModalScreen of the app):
# centred, bordered, over the dimmed screen beneath, and small enough for 80x24. It is repeated
# here so the dialogs look the same on any host app. The selectors start with the class name,
# so Textual's scoping of DEFAULT_CSS leaves them as written (a selector starting elsewhere is
# prefixed with "Dialog " and matches nothing: that is how these once drew at the top left).
MODAL_CSS = """
Dialog {
    align: center middle;
    background: $background 60%;
}
Dialog > .modal-box {
    width: 80%; max-width: 100; height: auto; max-height: 90%;
    border: round $primary; background: $surface; padding: 0 1;
}
Dialog .title { text-style: bold; color: $accent; }
Dialog .modal-buttons { height: auto; align-horizontal: right; margin-top: 1; }
Dialog Button { margin-left: 1; }
Dialog OptionList { height: auto; max-height: 14; }
"""


class Dialog(ModalScreen[T]):
    """Base of the composer's dialogs: the shared modal style."""

    DEFAULT_CSS = MODAL_CSS

    def __init__(self) -> None:
        super().__init__(classes="composer-dialog")


class ConfirmSend(Dialog[bool]):
    """Asks before a DELETE or an oversized frame goes out; ``y`` sends, ``n``/escape does not."""

    BINDINGS = [
        Binding("y", "answer(True)", "Send"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label("Confirm send", classes="title")
            yield Label(self.prompt, id="confirm-prompt")
            with Horizontal(classes="modal-buttons"):
                yield Button("Send (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", id="confirm-no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class NamePrompt(Dialog[str | None]):
    """One line of text (a template name); enter accepts, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(self.title_text, classes="title")
            yield Input(self.value, placeholder=self.placeholder, id="name-input")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if name:
            self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Picker(Dialog[T | None], Generic[T]):
    """A searchable list: typing narrows it through ``search``, enter picks the highlighted item."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(self, title: str, search: Callable[[str], Sequence[tuple[str, T]]]) -> None:
        super().__init__()
        self.title_text = title
        self.search = search
        self._values: list[T] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
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
