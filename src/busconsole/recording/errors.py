"""The one exception the recording reader lets out."""

from __future__ import annotations


class RecordingError(Exception):
    """A recording cannot be opened or read; the message says which file and why."""
