"""ShownStore: what the views draw from, whether a whole store (live, browsing a file) or a
:class:`~busconsole.store.view.StoreView` of one as of the playback clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from busconsole.console import ConsoleLog
    from busconsole.facts import FrameFacts
    from busconsole.frames import CapturedFrame
    from busconsole.pairing import Pairing
    from busconsole.state import EntityState
    from busconsole.store.view import ConsoleView, PairingView, StateView


class ShownStore(Protocol):
    @property
    def pairing(self) -> Pairing | PairingView: ...

    @property
    def console(self) -> ConsoleLog | ConsoleView: ...

    @property
    def state(self) -> EntityState | StateView: ...

    @property
    def first_index(self) -> int: ...

    @property
    def window_start(self) -> int: ...

    def __len__(self) -> int: ...

    def frame(self, i: int) -> CapturedFrame: ...

    def facts(self, i: int, now: float | None = None) -> FrameFacts: ...

    def positions(self, key: str, value: str) -> Sequence[int]: ...

    def values(self, key: str) -> dict[str, int]: ...

    def error_positions(self) -> Sequence[int]: ...
