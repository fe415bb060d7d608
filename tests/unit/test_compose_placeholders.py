"""compose_placeholders.py and compose_json.py: send-time expansion and positions in JSON text."""

from __future__ import annotations

import json
import re
import uuid

from busconsole.compose.json_text import locate, parse_json
from busconsole.compose.placeholders import (
    expand_placeholders,
    has_placeholders,
    unknown_placeholders,
)

AT = 1758644165111  # 2025-09-23T16:16:05.111Z


def test_exact_now_and_rand_become_numbers() -> None:
    out = expand_placeholders({"t": "{{now}}", "r": "{{ rand }}", "s": "{{iso}}"}, at_ms=AT)
    assert out["t"] == AT and isinstance(out["r"], int) and out["s"] == "2025-09-23T16:16:05.111Z"


def test_placeholders_expand_anywhere_in_strings_keys_and_lists() -> None:
    out = expand_placeholders({"name-{{now}}": ["at {{now}}", {"id": "x-{{uuid}}"}], "n": 5, "b": None}, at_ms=AT)
    assert out == {f"name-{AT}": [f"at {AT}", {"id": out[f"name-{AT}"][1]["id"]}], "n": 5, "b": None}
    assert uuid.UUID(out[f"name-{AT}"][1]["id"].removeprefix("x-"))


def test_every_uuid_is_fresh_but_now_agrees_within_a_frame() -> None:
    out = expand_placeholders(["{{uuid}}", "{{uuid}}", "{{now}}", "{{now}}"])
    assert out[0] != out[1] and out[2] == out[3]


def test_unknown_placeholders_are_kept_and_reported() -> None:
    obj = {"a": "{{foo}} and {{now}}", "{{bar}}": "{{foo}}"}
    assert unknown_placeholders(obj) == ["foo", "bar"]
    out = expand_placeholders(obj, at_ms=AT)
    assert out == {"a": f"{{{{foo}}}} and {AT}", "{{bar}}": "{{foo}}"}
    assert has_placeholders(obj) and not has_placeholders({"a": "{ {now} }", "n": 1})


def test_the_input_is_not_modified() -> None:
    obj = {"a": ["{{now}}"]}
    expand_placeholders(obj)
    assert obj == {"a": ["{{now}}"]}


def test_parse_json_blank_and_errors() -> None:
    assert parse_json("  \n") == (None, None)
    value, err = parse_json('{"a": [1, 2,]}')
    assert value is None and err is not None and (err.line, err.column) == (1, 13)
    _, deep = parse_json("[" * 100_000)
    assert deep is not None


def test_locate_finds_values_and_the_parent_of_missing_ones() -> None:
    text = '{\n  "a": {"b": [10, {"c": "x"}]},\n  "d": 1\n}'
    assert locate(text, ()) == (1, 1)
    assert locate(text, ("a", "b", 1, "c")) == (2, 25)
    assert locate(text, ("d",)) == (3, 8)
    assert locate(text, ("a", "zz")) == (2, 8)
    assert locate(text, ("a", "b", 7)) == (2, 14)
    assert locate(text, ("d", "e")) == (3, 8)
    assert locate("", ("a",)) is None
    assert json.loads(text)["a"]["b"][1]["c"] == "x"
    assert re.match(r"\d", str(locate('[5, {"k": 1}]', (1, "k"))[1]))
