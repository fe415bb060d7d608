"""The 1–5 type toggles and the filter text they add: one filter language, nothing hidden
outside it (a toggled-off type is ``-type:…`` in the filter the stream runs)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.text import Text

# one-key toggles: key -> (label, types hidden when toggled off)
TYPE_TOGGLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "1": ("queries", ("QUERY", "QUERY_RESULT")),
    "2": ("mutations", ("MUTATION", "MUTATION_SUCCESS")),
    "3": ("updates", ("STORE_UPDATE", "SUBSCRIPTION_DATA", "SUBSCRIBE", "UNSUBSCRIBE")),
    "4": ("console", ("CONSOLE_LOGS", "CONSOLE_LOGS_ACK")),
    "5": ("connection", ("CONNECTION", "CLIENT_OPEN", "CLIENT_CLOSE", "PROXY_OPEN", "PROXY_CLOSE")),
}
SHORT_LABELS = {"queries": "qry", "mutations": "mut", "updates": "upd", "console": "log", "connection": "conn"}
_ENTITY_TERM = re.compile(r"(?:^|\s)entity:\S+")


def combined_filter(text: str, hidden: Iterable[str]) -> str:
    """The user's filter with the toggled-off types excluded, in the filter language itself."""
    types = sorted(hidden)
    if not types:
        return text
    exclude = "-type:" + ",".join(types)
    return f"({text}) {exclude}" if text.strip() else exclude


def with_entity(text: str, entity: str | None) -> str:
    """``text`` with its ``entity:`` term replaced by ``entity`` (or removed when None)."""
    rest = _ENTITY_TERM.sub("", text).strip()
    return f"{rest} entity:{entity}".strip() if entity else rest


def toggles_text(hidden: set[str], short: bool, only_hidden: bool = False) -> Text:
    """``  1 queries  2 mutations …``, hidden ones struck through."""
    text = Text()
    for key, (label, _types) in TYPE_TOGGLES.items():
        off = label in hidden
        if only_hidden and not off:
            continue
        text.append(f"  {key}", "dim" if off else "bold")
        text.append(f" {SHORT_LABELS[label] if short else label}", "dim strike" if off else "")
    return text
