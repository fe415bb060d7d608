"""What became of a frame the composer sent: waiting, answered (with latency), failed, timed out.

Read from the event store's pairing, not from a private socket, so the composer shows
exactly what the stream shows, and the same request/reply rules apply (a
MUTATION_SUCCESS without requestId still pairs by entity and operation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from busconsole.store.shown import ShownStore

ReplyState = Literal["unseen", "waiting", "replied", "error", "timed_out"]


@dataclass(frozen=True, slots=True)
class ReplyStatus:
    state: ReplyState
    request_index: int | None = None
    reply_index: int | None = None
    latency: float | None = None  # ms
    reply: dict[str, Any] | None = None  # the reply frame's JSON object

    @property
    def done(self) -> bool:
        return self.state in ("replied", "error", "timed_out")

    @property
    def reply_type(self) -> str:
        return str(self.reply.get("type", "?")).upper() if self.reply else ""


def sent_index(store: ShownStore, request_id: str) -> int | None:
    """Index of the outgoing frame carrying ``request_id`` (the newest, if it was resent)."""
    for i in reversed(store.positions("req", request_id)):
        if store.facts(i).dir == "out":
            return i
    return None


def reply_status(store: ShownStore, request_id: str, now: float | None = None) -> ReplyStatus:
    """Where the request ``request_id`` stands; ``now`` is epoch ms (default: the clock)."""
    i = sent_index(store, request_id)
    if i is None:
        return ReplyStatus("unseen")
    pair = store.pairing.pair_of(i)
    if pair is not None:
        reply = store.frame(pair.reply).obj
        state: ReplyState = "error" if pair.failed else "replied"
        return ReplyStatus(state, i, pair.reply, pair.latency, reply)
    if store.pairing.is_timed_out(i, now):
        return ReplyStatus("timed_out", i)
    return ReplyStatus("waiting", i)
