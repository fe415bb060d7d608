"""recording/format.py: the v1 frame line, byte-exact both ways, decided by the one decode."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from busconsole.frames import CapturedFrame
from busconsole.recording.format import encode, encode_many, from_record, is_frame_object, read_line
from busconsole.wire import loads


def back(frame: CapturedFrame) -> CapturedFrame:
    """The frame as the reader gets it from the line the writer made."""
    line = encode(frame).rstrip(b"\n")
    fast = read_line(line)
    return fast if fast is not None else from_record(orjson.loads(line))


def test_record_line_keeps_wire_bytes_verbatim() -> None:
    raw = b'{"type":"QUERY_RESULT","entity":"partner","data":{"x":1.50}}'
    f = CapturedFrame(17, 1758332020409.5, "in", "c1", raw)
    line = encode(f)
    assert line.endswith(b"\n") and raw in line
    rec = orjson.loads(line)
    assert rec["seq"] == 17 and rec["dir"] == "in" and rec["conn"] == "c1"
    assert back(f).raw == raw and back(f).type == "QUERY_RESULT"


def test_a_frame_that_is_not_one_line_keeps_its_exact_bytes() -> None:
    for raw in (b'{\n "type": "QUERY"\n}', b' {"type":"ERROR"} '):
        f = CapturedFrame(1, 1.0, "out", "c1", raw)
        line = encode(f)
        assert line.count(b"\n") == 1
        assert orjson.loads(line)["raw"] == raw.decode()
        assert back(f).raw == raw and back(f).obj == f.obj


def test_malformed_text_and_binary_are_recorded_raw() -> None:
    text = CapturedFrame(2, 1.0, "in", "c1", b"hello")
    assert orjson.loads(encode(text)) == {"seq": 2, "t": 1.0, "dir": "in", "conn": "c1", "raw": "hello"}
    binary = CapturedFrame(3, 1.0, "in", "c1", b"\x00\xff", binary=True)
    rec = orjson.loads(encode(binary))
    assert rec["enc"] == "base64" and "text" not in rec
    assert from_record(rec).raw == b"\x00\xff" and from_record(rec).binary
    assert text.type == "MALFORMED" and text.malformed is not None


def test_text_that_is_not_utf8_stays_text_with_its_reason() -> None:
    f = CapturedFrame(4, 1.0, "in", "c1", b'{"type":"X","v":"\xff"}')
    rec = orjson.loads(encode(f))
    assert rec["enc"] == "base64" and rec["text"] is True
    again = from_record(rec)
    assert not again.binary and again.raw == f.raw
    assert again.malformed is not None and again.malformed.reason == f.malformed.reason == "invalid UTF-8"


def test_is_frame_object_is_strict_json() -> None:
    assert is_frame_object(b'{"type":"QUERY","n":[1,2,{"a":null}]}')
    for bad in (b'{"type":1}', b'{"type":"x",}', b'{"type":"x"} trailing', b"null", b"{}", b"[1]", b"\xff",
                b'{"type":"x","skipped":"\xff"}', b'{"type":"x","k":{"\xc3":1}}', b'{"type":"x","n":NaN}'):
        assert not is_frame_object(bad), bad


def test_what_javascript_writes_is_a_frame_the_same_both_ways() -> None:
    """Half an emoji as JSON.stringify writes it, and numbers orjson refuses: frames, written
    verbatim, read back with the same bytes and the same object."""
    for raw in (rb'{"type":"CONSOLE_LOGS","m":"broken \ud83d emoji"}', b'{"type":"X","n":1e400}',
                rb'{"type":"X","k\udc00":"\\ud83d is text"}', b'{"type":"X","n":123456789012345678901234567890}'):
        f = CapturedFrame(5, 2.0, "in", "c9", raw)
        assert is_frame_object(raw)
        line = encode(f)
        assert loads(line)["frame"]["type"]  # jq sees it as a frame
        again = back(f)
        assert again.raw == raw and again.obj == CapturedFrame(0, 0, "in", "c", raw).obj
        assert again.obj is not None
    assert CapturedFrame(0, 0, "in", "c", rb'{"type":"X","m":"a\ud83db"}').obj == {"type": "X", "m": "a\ufffdb"}


def test_too_deep_is_malformed_the_same_both_ways() -> None:
    raw = b'{"type":"X","v":' + b"[" * 3000 + b"]" * 3000 + b"}"
    f = CapturedFrame(6, 3.0, "in", "c1", raw)
    assert f.malformed is not None and "nested deeper" in f.malformed.reason
    again = back(f)
    assert again.raw == raw and again.malformed is not None and again.malformed.reason == f.malformed.reason


def test_garbage_that_looks_like_an_object_is_recorded_raw() -> None:
    f = CapturedFrame(4, 1.0, "in", "c1", b'{"type":"QUERY",}')
    rec = orjson.loads(encode(f))
    assert rec["raw"] == '{"type":"QUERY",}' and "frame" not in rec


_RAWS = st.one_of(
    st.sampled_from([b'{"type":"QUERY","entity":"partner"}', b' {"type":"ERROR"} ', b'{"type":"x",\n"a":1}',
                     b"not json", b'{"type":1}', b'{"type":"x","v":"\xff"}', b"\x00\xff", b"{}",
                     rb'{"type":"x","v":"\ud800"}', b'{"type":"x","v":-1e999}']),
    st.binary(max_size=40),
)


@given(st.lists(st.tuples(_RAWS, st.booleans()), max_size=30))
def test_record_lines_is_the_lines_one_by_one(items: list[tuple[bytes, bool]]) -> None:
    frames = [CapturedFrame(i, 1.5 + i, "in" if i % 2 else "out", "c1", raw, binary)
              for i, (raw, binary) in enumerate(items)]
    assert encode_many(frames) == b"".join(encode(f) for f in frames)
    for f in frames:
        again = back(f)
        assert (again.raw, again.binary) == (f.raw, f.binary)
