"""The filter language (DESIGN §6): text -> :class:`Filter`, one predicate for every front end.

The parts live in small modules: parser, nodes, keys (one table for parsing and help),
patterns, values, paths, scan (bulk byte prefilter), errors; :mod:`.filter` ties them
into the :class:`Filter` every front end uses.
"""

from busconsole.filtering.filter import (
    FILTER_KEYS,
    Filter,
    FilterError,
    IndexedStore,
    KeyDef,
    help_text,
    parse_filter,
)

__all__ = ["FILTER_KEYS", "Filter", "FilterError", "IndexedStore", "KeyDef", "help_text",
           "parse_filter"]
