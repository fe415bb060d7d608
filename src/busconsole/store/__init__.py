"""The event store: a session's frames in compact columns (:mod:`.chunks`), with indexes,
pairing, state and console (:mod:`.events`), and the store a file feeds (:mod:`.file`)."""

from busconsole.store.events import INDEX_KEYS, EventStore, FrameSource

__all__ = ["INDEX_KEYS", "EventStore", "FrameSource"]
