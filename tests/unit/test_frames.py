"""frames.py: lazy parsing and the recording line format."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from busconsole.frames import CapturedFrame


def test_record_line_keeps_wire_bytes_verbatim() -> None:
    raw = b'{"type":"QUERY_RESULT","entity":"partner","data":{"x":1.50}}'
    f = CapturedFrame(17, 1758332020409.5, "in", "c1", raw)
    line = f.record_line()
    assert line.endswith(b"\n") and raw in line
    rec = orjson.loads(line)
    assert rec["seq"] == 17 and rec["dir"] == "in" and rec["conn"] == "c1"
    back = CapturedFrame.from_record(rec)
    assert back.obj == f.obj and back.type == "QUERY_RESULT"


def test_multiline_frame_is_recompacted() -> None:
    f = CapturedFrame(1, 1.0, "out", "c1", b'{\n "type": "QUERY"\n}')
    line = f.record_line()
    assert line.count(b"\n") == 1
    assert orjson.loads(line)["frame"] == {"type": "QUERY"}


def test_malformed_text_and_binary_are_recorded_raw() -> None:
    text = CapturedFrame(2, 1.0, "in", "c1", b"hello")
    assert orjson.loads(text.record_line()) == {"seq": 2, "t": 1.0, "dir": "in", "conn": "c1", "raw": "hello"}
    binary = CapturedFrame(3, 1.0, "in", "c1", b"\x00\xff", binary=True)
    rec = orjson.loads(binary.record_line())
    assert rec["enc"] == "base64"
    assert CapturedFrame.from_record(rec).raw == b"\x00\xff"
    assert text.type == "MALFORMED" and text.malformed is not None


def test_is_frame_object_is_strict_json() -> None:
    from busconsole.frames import is_frame_object

    assert is_frame_object(b'{"type":"QUERY","n":[1,2,{"a":null}]}')
    for bad in (b'{"type":1}', b'{"type":"x",}', b'{"type":"x"} trailing', b"null", b"{}", b"[1]", b"\xff",
                b'{"type":"x","skipped":"\xff"}', b'{"type":"x","k":{"\xc3":1}}'):
        assert not is_frame_object(bad), bad


def test_garbage_that_looks_like_an_object_is_recorded_raw() -> None:
    f = CapturedFrame(4, 1.0, "in", "c1", b'{"type":"QUERY",}')
    rec = orjson.loads(f.record_line())
    assert rec["raw"] == '{"type":"QUERY",}' and "frame" not in rec


_RAWS = st.one_of(
    st.sampled_from([b'{"type":"QUERY","entity":"partner"}', b' {"type":"ERROR"} ', b'{"type":"x",\n"a":1}',
                     b"not json", b'{"type":1}', b'{"type":"x","v":"\xff"}', b"\x00\xff", b"{}"]),
    st.binary(max_size=40),
)


@given(st.lists(st.tuples(_RAWS, st.booleans()), max_size=30))
def test_record_lines_is_the_lines_one_by_one(items: list[tuple[bytes, bool]]) -> None:
    from busconsole.frames import record_lines

    frames = [CapturedFrame(i, 1.5 + i, "in" if i % 2 else "out", "c1", raw, binary)
              for i, (raw, binary) in enumerate(items)]
    assert record_lines(frames) == b"".join(f.record_line() for f in frames)
