"""The one exception every filter parse failure raises."""

from __future__ import annotations


class FilterError(ValueError):
    """A filter that cannot be understood; ``column`` is 1-based so a view can point at it."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column
