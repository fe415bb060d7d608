"""No secret reaches any output: recordings, `tail` lines, pretty lines, the server's log files.

Hypothesis puts a secret in every position a frame can hide one (keys spelled with
``\\u`` escapes, JSON inside a string, URLs, cookies, Basic and short Bearer credentials,
console messages, names outside the classic list) and carries it in a text frame, a
binary frame and a malformed one.
"""

from __future__ import annotations

import base64
import contextlib
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from busconsole.commands.tail import batch_output
from busconsole.frames import CapturedFrame
from busconsole.recording.redact import Redactor, redacted_frame, redacted_text
from busconsole.recording.writer import RecordingWriter
from busconsole.render import pretty_line, summary
from busconsole.server import logs
from busconsole.terminal import safe_text

KEYS = ["password", "passwd", "pwd", "userPwd", "token", "accessToken", "refresh_token", "secret", "clientSecret",
        "authorization", "apiKey", "x-api-key", "cookie", "jwt", "credentials", "private_key", "privateKey"]
QUERY_KEYS = ["token", "access_token", "apiKey", "password", "jwt"]
SECRET = st.text("abcdefghijkmnoprstuvwxyz0123456789", min_size=6, max_size=14).map(lambda s: "Zq" + s)
SHORT = st.text("abcdefghijkmnoprstuvwxyz0123456789", min_size=1, max_size=5).map(lambda s: "Zq" + s)


@st.composite
def escaped_key(draw: st.DrawFn) -> str:
    """A rule's key, as JSON source text, with some letters as ``\\u00XX`` escapes and any case."""
    key = draw(st.sampled_from(KEYS))
    out = []
    for ch in key:
        ch = ch.upper() if draw(st.booleans()) else ch
        out.append(f"\\u{ord(ch):04x}" if draw(st.booleans()) else ch)
    return "".join(out)


def _str(value: str) -> str:
    return orjson.dumps(value).decode()


@st.composite
def secret_json(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(the source text of a JSON value holding a secret, the strings that must not leak)."""
    secret = draw(SECRET)
    key = draw(st.sampled_from(KEYS))
    kind = draw(st.sampled_from(["escaped_key", "nested", "url", "cookie", "basic", "bearer", "console"]))
    if kind == "escaped_key":
        return f'{{"{draw(escaped_key())}":{_str(secret)},"n":1}}', [secret]
    if kind == "nested":
        inner = orjson.dumps({"a": 1, key: secret}).decode()
        if draw(st.booleans()):
            inner = f'{{"{draw(escaped_key())}":{_str(secret)}}}'
        for _ in range(draw(st.integers(1, 3))):
            inner = orjson.dumps({"note": inner} if draw(st.booleans()) else [inner]).decode()
        return inner, [secret]
    if kind == "url":
        qkey = draw(st.sampled_from(QUERY_KEYS))
        return _str(f"opened wss://h.example/x?a=1&{qkey}={secret}&b=2 ok"), [secret]
    if kind == "cookie":
        line = draw(st.sampled_from([f"Cookie: a=1; session={secret}", f"Set-Cookie: sid={secret}; Path=/"]))
        return _str(f"request {line}"), [secret]
    if kind == "basic":
        cred = base64.b64encode(f"ann:{secret}".encode()).decode()
        text = draw(st.sampled_from([f"Authorization: Basic {cred}", f"retry proxy-authorization=basic {cred}"]))
        return _str(text), [secret, cred]
    if kind == "bearer":
        short = draw(SHORT)
        return _str(f"retry with Bearer {short}"), [short]
    sep = draw(st.sampled_from(["=", ": ", "="]))
    quote = draw(st.sampled_from(["", '"']))
    qkey = draw(st.sampled_from(["password", "token", "pwd", "passwd", "jwt", "apiKey", "secret"]))
    message = f"login {qkey}{sep}{quote}{secret}{quote} for ann"
    return orjson.dumps({"level": "error", "message": message}).decode(), [secret]


@st.composite
def leaky_frame(draw: st.DrawFn) -> tuple[CapturedFrame, list[str]]:
    value, secrets = draw(secret_json())
    raw = f'{{"type":"CONSOLE_LOGS","messages":[{{"level":"log","message":"x","args":[{value}]}}],"v":{value}}}'
    shape = draw(st.sampled_from(["text", "binary", "malformed"]))
    data = raw.encode()
    if shape == "malformed":
        data = data[:-1] + b" \x1b[2J oops"
    return CapturedFrame(1, 1_700_000_000_000.0, "in", 1, data, shape == "binary"), secrets


def _clean(f: int) -> CapturedFrame:
    return CapturedFrame(f, 1_700_000_000_000.0, "in", 1, b'{"type":"QUERY","entity":"partner"}', False)


def _assert_absent(out: bytes | str, secrets: list[str], where: str) -> None:
    text = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
    for s in secrets:
        assert s not in text, f"{s!r} leaked into {where}: {text[:400]!r}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaky_frame())
def test_no_secret_reaches_any_output(case: tuple[CapturedFrame, list[str]]) -> None:
    frame, secrets = case
    batch = [_clean(0), frame, _clean(2)]
    red = Redactor()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.jsonl"
        with RecordingWriter(path, "ws://h/x?token=abc") as writer:
            writer.write_many(batch)  # the batch path
            writer.write(frame)  # the single-frame path
        _assert_absent(path.read_bytes(), secrets, "the recording")
        logs.append(Path(tmp) / "logs", [logs.normalise(m, {}) for m in _console_messages(frame)])
        _assert_absent(b"".join(p.read_bytes() for p in (Path(tmp) / "logs").iterdir()), secrets, "the log file")
    _assert_absent(batch_output(batch, red, as_json=True), secrets, "tail --json")
    _assert_absent(batch_output(batch, red, as_json=False), secrets, "tail's pretty lines")
    for f in red.redact_frames(batch):
        _assert_absent(pretty_line(f, True).plain, secrets, "a coloured pretty line")
    _assert_absent(pretty_line(redacted_frame(frame)).plain, secrets, "a pretty line (stderr)")
    if frame.decoded is not None and frame.obj is None:  # malformed: render redacts its own summary
        _assert_absent(summary(frame), secrets, "a malformed frame's summary")
        _assert_absent(redacted_text(frame.raw.decode("utf-8", "replace")), secrets, "redacted_text")


def _console_messages(frame: CapturedFrame) -> list[object]:
    """What a frontend would log: the frame's text as a message and, parsed, as an argument."""
    text = frame.raw.decode("utf-8", "replace")
    messages: list[object] = [{"level": "log", "message": text}, text]
    with contextlib.suppress(orjson.JSONDecodeError):
        messages.append({"level": "log", "message": "frame", "args": [orjson.loads(frame.raw)]})
    return messages


# ------------------------------------------------------------------ single cases, readable


def test_escaped_key_is_not_skipped_by_the_byte_check() -> None:
    raw = b'{"type":"X","pass\\u0077ord":"hunter2"}'
    assert Redactor().might_contain(raw)
    assert b"hunter2" not in Redactor().redact_raw(raw)


def test_clean_batches_stay_a_single_byte_check() -> None:
    r = Redactor()
    frames = [_clean(i) for i in range(10)]
    assert r.redact_frames(frames) is frames
    assert not r.might_contain(b'{"type":"STORE_UPDATE","data":[{"name":"Z\xc3\xbcrich","n":1}]}')


def test_string_values() -> None:
    r = Redactor()
    assert r.redact_string("login password=hunter2 token=abc ok") == "login password=*** token=*** ok"
    assert r.redact_string("GET /x?access_token=abc&a=1") == "GET /x?access_token=***&a=1"
    assert r.redact_string("Cookie: a=1; session=abc") == "Cookie: ***"
    assert r.redact_string("Authorization: Basic YW5uOmh1bnRlcjI=") == "Authorization: Basic ***"
    assert r.redact_string("Bearer ab") == "Bearer ***"
    assert r.redact_string('{"jwt": "abc"}') == '{"jwt":"***"}'
    assert r.redact_string("ws://ann:hunter2@h/x") == "ws://ann:***@h/x"
    plain = "basic mode, 3 tokens left"
    assert r.redact_string(plain) is plain


def test_new_names_and_their_false_positives() -> None:
    r = Redactor()
    for key in ("passwd", "pwd", "userPwd", "jwt", "credentials", "private_key", "privateKey"):
        assert r.matches_key(key), key
    # substring matching errs on the safe side: these are masked too, by design
    assert r.matches_key("jwtIssuer") and r.matches_key("tokenCount")
    assert not r.matches_key("name") and not r.matches_key("cwd") and not r.matches_key("author")


def test_long_words_cost_linear_time() -> None:
    import time

    r = Redactor()
    started = time.perf_counter()
    for text in ("token " + "a" * 200_000, "a." * 100_000 + "token", "x://" + "y" * 200_000, "Cookie" + "b" * 200_000):
        r.redact_text(text)
    assert time.perf_counter() - started < 5


def test_safe_text_escapes_control_characters() -> None:
    assert safe_text("a\x1b[2Jb\x9bc\x07\td\u202ee") == "a\\x1b[2Jb\\x9bc\\x07\td\\u202ee"
    assert safe_text("two\nlines", newlines=True) == "two\nlines"
    assert safe_text("two\nlines") == "two\\x0alines"
    plain = "plain text ü"
    assert safe_text(plain) is plain


def test_pretty_lines_and_notes_carry_no_escape_sequences(capsys: object) -> None:
    from busconsole.commands.common import note

    frame = CapturedFrame(1, 0.0, "in", 1, b'{"type":"ERROR","entity":"a\x1b]0;t\x07","error":"x\\u001b[31mred"}', False)
    line = pretty_line(frame, False).plain
    assert "\x1b" not in line and "\x07" not in line
    note("closed: \x1b[2Jgone\x9b")
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "\x1b" not in err and "\x9b" not in err and "\\x1b[2Jgone" in err


def test_tail_json_in_a_real_process_masks_what_the_reference_server_broadcasts(server: object) -> None:
    """`busconsole tail --json` as a subprocess against the reference server: a mutation whose
    record carries secrets in string values comes back as a STORE_UPDATE with them masked."""
    import os
    import subprocess
    import sys

    from busconsole.server.runner import ServerThread

    assert isinstance(server, ServerThread)
    root = Path(__file__).resolve().parents[2]
    cred = base64.b64encode(b"ann:Zqbasic123").decode()
    payload = {"name": "seen", "type": "CUSTOMER", "note": "login password=Zqpw1234 via Cookie: a=1; session=Zqck5678",
               "link": "wss://h/x?token=Zqtok999&a=1", "auth": f"Authorization: Basic {cred}", "short": "Bearer Zq1",
               "inner": '{"pass\\u0077ord": "Zqinner88"}', "jwt": "Zqjwt777"}
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    cmd = [sys.executable, "-m", "busconsole.cli", "tail", server.url, "-s", "partner", "--json",
           "--filter", "type:STORE_UPDATE entity:partner", "--count", "1"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        try:
            server.wait_for_received(1, timeout=60)
            from typer.testing import CliRunner

            from busconsole.cli import app

            result = CliRunner().invoke(app, ["send", server.url, "MUTATION", "partner", "-o", "CREATE",
                                              "--payload", orjson.dumps(payload).decode()])
            assert result.exit_code == 0, result.stderr
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert b"seen" in out
    _assert_absent(out + err, ["Zqpw1234", "Zqck5678", "Zqtok999", cred, "Zqbasic123", "Zq1", "Zqinner88", "Zqjwt777"],
                   "tail --json (subprocess)")
