"""Terms that search a frame's text: words and phrases (a byte search before anything is
parsed) and ``/regex/`` (with a time limit per match)."""

from __future__ import annotations

import re
from typing import Any

from busconsole.facts import FrameFacts
from busconsole.filtering.keys import KEY_TERM
from busconsole.filtering.nodes import Anchors, Node
from busconsole.filtering.patterns import (
    compile_regex,
    longest_verbatim_needle,
    quote,
    regex_flags,
    timed_search,
)


class TextTerm(Node):
    """A word or phrase anywhere in the frame's raw bytes, case-insensitively."""

    cost = 1
    _BARE = re.compile(r'[^\s()"/\-][^\s()]*')
    _KEYWORDS = frozenset({"or", "and", "not"})

    def __init__(self, text: str) -> None:
        self.text = text
        self._low = text.lower()
        self._needle = self._low.encode("utf-8")
        self._ascii = text.isascii()
        self._bare = (bool(self._BARE.fullmatch(text)) and self._low not in self._KEYWORDS
                      and not KEY_TERM.match(text))

    def matches(self, facts: FrameFacts) -> bool:
        if self._ascii:
            return self._needle in facts.raw.lower()
        return self._low in facts.raw.decode("utf-8", "replace").lower()

    def prefilter(self, low: bytes) -> bool:
        return not self._ascii or self._needle in low

    def has_needles(self) -> bool:
        return self._ascii

    def anchor_sets(self) -> list[Anchors]:
        """The longest run that every JSON encoder writes verbatim, as the frame may be read
        back from a file written by another encoder (``\\/`` escapes). Non-ASCII text has
        none: Unicode case folding can turn it into other bytes."""
        needle = longest_verbatim_needle(self.text) if self._ascii else None
        return [] if needle is None else [(needle,)]

    def decided_by_bytes(self) -> bool:
        return self._ascii

    def _key(self) -> tuple[Any, ...]:
        return (self.text,)

    def __str__(self) -> str:
        return self.text if self._bare else quote(self.text)


class RegexTerm(Node):
    """``/regex/flags`` searched in the frame text (decoded UTF-8)."""

    cost = 1

    def __init__(self, pattern: str, flags: str) -> None:
        self.pattern, self.flags = pattern, flags
        self._rx = compile_regex(pattern, regex_flags(flags))

    def matches(self, facts: FrameFacts) -> bool:
        return timed_search(self._rx, facts.raw.decode("utf-8", "replace"))

    def _key(self) -> tuple[Any, ...]:
        return (self.pattern, self.flags)

    def __str__(self) -> str:
        return f"/{self.pattern}/{self.flags}"
