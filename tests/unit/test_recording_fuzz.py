"""Whatever the bytes on disk, the reader raises nothing but RecordingError."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from busconsole.recording.format import encode
from busconsole.recording.reader import RecordingError, open_recording

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "seq", "t", "dir", "conn", "frame", "raw", "enc", "timestamp", "messages",
                         "level", "message", "event", "sequence", "operation", "busconsole", "version", "x"]),
        inner, max_size=6),
    max_leaves=12,
)
lines = st.one_of(
    st.binary(max_size=60),
    json_values.map(orjson.dumps),
    st.just(b'{"busconsole":"recording","version":1,"source":"x"}'),
    st.just(b'{"seq":1,"t":2,"dir":"in","conn":"c1","frame":{"type":"QUERY"}}'),
)


def read_everything(path: Path) -> None:
    try:
        with open_recording([path]) as rec:
            rec.wait()
            for i in range(len(rec)):
                frame = rec.frame(i)
                encode(frame)
                assert isinstance(frame.t, float)
            assert all(isinstance(p, str) for p in rec.problems)
    except RecordingError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, max_size=8), st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_random_lines_raise_only_recording_error(body: list[bytes], sep: bytes, end: bool) -> None:
    data = sep.join(body) + (sep if end else b"")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.jsonl"
        path.write_bytes(data)
        read_everything(path)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_random_bytes_and_damaged_gzip_raise_only_recording_error(data: bytes, as_gzip: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("f.jsonl.gz" if as_gzip else "f.jsonl")
        path.write_bytes(gzip.compress(data)[: max(1, len(data) // 2)] if as_gzip and data else data)
        read_everything(path)
