"""Hypothesis strategies shared by the filter property tests: small frame objects whose
values stress case, escaping and non-ASCII text, the things a byte-level prefilter can get wrong."""

from __future__ import annotations

from hypothesis import strategies as st

SCALARS = st.one_of(st.sampled_from(["ACTIVE", "active", "a/b", "Telco Bright", 'x"y', "é", "ERROR"]),
                    st.integers(-3, 3), st.booleans(), st.none())
OBJECTS = st.fixed_dictionaries(
    {"type": st.sampled_from(["QUERY", "query", "STORE_UPDATE", "CONSOLE_LOGS"])},
    optional={"entity": st.sampled_from(["partner", "Compute"]),
              "payload": st.dictionaries(st.sampled_from(["status", "name", "n"]), SCALARS, max_size=3),
              "messages": st.lists(st.fixed_dictionaries({}, optional={
                  "level": st.sampled_from(["log", "error", "WARN"])}), max_size=2)},
)
