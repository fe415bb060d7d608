"""The ``:`` prompt of the replay view: a time to jump to, read by :func:`busconsole.playback.parse_jump`.

A target that cannot be read stays on screen with the reason, so a typo costs one
edit rather than a lost jump.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from busconsole.playback import JumpError, parse_jump


class JumpScreen(ModalScreen[float | None]):
    """Dismissed with the target time (epoch ms), or None when cancelled."""

    DEFAULT_CSS = """
    JumpScreen {
        align: center middle;
        background: $background 60%;
    }
    #jump-box {
        width: 64;
        height: auto;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    #jump-error {
        color: #ff5f5f;
        height: auto;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel the jump")]

    def __init__(self, current_ms: float, first_ms: float) -> None:
        super().__init__()
        self.current_ms = current_ms
        self.first_ms = first_ms

    def compose(self) -> ComposeResult:
        with Vertical(id="jump-box", classes="modal-box"):
            yield Static("Jump to a time: 12:31:05, +30s, -2m or an ISO date-time", classes="box-title")
            yield Input(placeholder="12:31:05", id="jump-input")
            yield Static("", id="jump-error")

    @on(Input.Submitted, "#jump-input")
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            target = parse_jump(event.value, self.current_ms, self.first_ms)
        except JumpError as exc:
            self.query_one("#jump-error", Static).update(str(exc))
            return
        self.dismiss(target)

    def action_cancel(self) -> None:
        self.dismiss(None)
