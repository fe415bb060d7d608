"""Input helpers for the composer: entity completion that follows the bus as it fills up."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.suggester import Suggester


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
