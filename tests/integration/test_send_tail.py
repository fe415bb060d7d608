"""`busconsole send` exit codes and output, `busconsole tail` lines, filters and redaction,
against the real reference server (and tiny loopback servers for silence and secrets)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from busconsole import paths
from busconsole.cli import app
from busconsole.server.runner import ServerThread

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
PROC_TIMEOUT = 60  # bound for a subprocess that normally ends in about a second


def bus(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@contextmanager
def tiny_server(handler: Callable[[ServerConnection], None], refuse: int | None = None) -> Iterator[str]:
    """A purpose-built loopback server (silent, sending fixed frames, or refusing every
    handshake with HTTP ``refuse``) on its own thread."""

    def check(conn: ServerConnection, request: Request) -> Response | None:
        return None if refuse is None else conn.respond(refuse, "refused\n")

    with serve(handler, "127.0.0.1", 0, process_request=check) as srv:
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{srv.socket.getsockname()[1]}/store-debug"
        finally:
            srv.shutdown()
            thread.join(PROC_TIMEOUT)


# ---------------------------------------------------------------------------------- send


def test_send_query_prints_the_correlated_result(server: ServerThread) -> None:
    code, out, err = bus("send", server.url, "query", "partner", "--payload", '{"page": {"limit": 2}}')
    assert code == 0, err
    reply = orjson.loads(out)
    assert reply["type"] == "QUERY_RESULT" and reply["entity"] == "partner"
    assert reply["requestId"].startswith("req_")
    assert len(reply["data"]["data"]) == 2 and reply["data"]["query"]["kind"] == "partner"


def test_send_error_reply_exits_1(server: ServerThread) -> None:
    code, out, _ = bus("send", server.url, "QUERY", "nosuch")
    assert code == 1
    assert orjson.loads(out)["type"] == "ERROR"


def test_send_mutation_pairs_without_request_id_in_orchestrix_mode(
    tmp_path: Path, orchestrix_server: ServerThread
) -> None:
    payload = tmp_path / "partner.json"
    payload.write_text('{"name": "from-file", "type": "CUSTOMER"}', encoding="utf-8")
    code, out, err = bus("send", orchestrix_server.url, "MUTATION", "partner", "-o", "create",
                         "--payload", f"@{payload}")
    assert code == 0, err
    reply = orjson.loads(out)
    assert reply["type"] == "MUTATION_SUCCESS" and "requestId" not in reply
    assert reply["data"]["name"] == "from-file"


def test_send_subscribe_prints_subscription_data_and_unsubscribe_just_sends(server: ServerThread) -> None:
    code, out, _ = bus("send", server.url, "SUBSCRIBE", "cloud")
    assert code == 0 and orjson.loads(out)["type"] == "SUBSCRIPTION_DATA"
    code, out, _ = bus("send", server.url, "UNSUBSCRIBE", "cloud")
    assert code == 0 and out == ""
    frames = [orjson.loads(m) for m in server.wait_for_received(2)]
    assert [f["type"] for f in frames][-1] == "UNSUBSCRIBE"


def test_send_unreachable_exits_2(server: ServerThread) -> None:
    url = server.url
    server.stop()
    code, out, err = bus("send", url, "QUERY", "partner", "--timeout", "5")
    assert code == 2 and out == ""
    assert "cannot connect" in err


def test_send_without_reply_exits_2() -> None:
    def silent(ws: ServerConnection) -> None:
        for _ in ws:
            pass

    with tiny_server(silent) as url:
        code, out, err = bus("send", url, "QUERY", "partner", "--timeout", "0.2")
    assert code == 2 and out == ""
    assert "no reply" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["QUERY", "partner", "--payload", '{\n  "page": {"limit": 2,}\n}'], "invalid JSON at line 2, column 23"),
        (["MUTATION", "partner", "-o", "UPDATE", "--payload", '{"name": "x"}'], "payload.id is required for UPDATE"),
        (["MUTATION", "partner"], "needs --operation"),
        (["QUERY", "partner", "--payload", '{"page": {"limit": -1}}'], "page.limit"),
        (["QUERY", "partner", "--payload", "[1]"], "must be a JSON object"),
        (["PING", "partner"], "TYPE 'PING': expected one of QUERY"),
        (["QUERY"], "QUERY needs an ENTITY"),
        ([], "missing TYPE"),
        (["QUERY", "partner", "--payload", "@/nonexistent/file.json"], "cannot read payload file"),
    ],
)
def test_send_bad_usage_exits_64_with_what_and_where(server: ServerThread, args: list[str], message: str) -> None:
    code, out, err = bus("send", server.url, *args)
    assert code == 64, err
    assert out == ""
    assert message in err
    assert server.received == []


def test_send_uses_the_profile_url_and_refuses_mutations_when_read_only(server: ServerThread) -> None:
    config = paths.ensure(paths.config_dir()) / "config.toml"
    config.write_text(f'[profiles.prod]\nurl = "{server.url}"\nread_only = true\n', encoding="utf-8")
    code, out, _ = bus("send", "--profile", "prod", "QUERY", "partner")
    assert code == 0 and orjson.loads(out)["type"] == "QUERY_RESULT"
    code, _, err = bus("send", "--profile", "prod", "MUTATION", "partner", "-o", "CREATE", "--payload", "{}")
    assert code == 64 and "read-only" in err
    config.write_text('[profiles.prod]\nurl = 3\n', encoding="utf-8")
    code, _, err = bus("send", "--profile", "prod", "QUERY", "partner")
    assert code == 64 and f"{config}:2: profiles.prod.url:" in err


def test_send_never_prints_the_token(server: ServerThread) -> None:
    code, out, err = bus("send", "ws://127.0.0.1:1/x?token=urlsecret", "QUERY", "partner", "--token", "s3cr3t-t0k3n")
    assert code == 2
    assert "s3cr3t-t0k3n" not in out + err and "urlsecret" not in err


# ---------------------------------------------------------------------------------- tail


def test_tail_json_lines_are_recording_lines_and_count_stops(server: ServerThread) -> None:
    code, out, err = bus("tail", server.url, "--json", "--count", "3", "-s", "partner")
    assert code == 0, err
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert len(lines) == 3
    assert all({"seq", "t", "dir", "conn", "frame"} <= set(rec) for rec in lines)
    assert {(rec["dir"], rec["frame"]["type"]) for rec in lines} == {
        ("out", "SUBSCRIBE"), ("in", "CONNECTION"), ("in", "SUBSCRIPTION_DATA"),
    }
    assert "connected to" in err


def test_tail_pretty_lines_without_a_terminal_have_no_colour(server: ServerThread) -> None:
    code, out, _ = bus("tail", server.url, "--count", "2", "--type", "connection,subscription_data", "-s", "partner")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and "\x1b[" not in out
    assert "← CONNECTION" in lines[0] and "connected" in lines[0]
    assert "← SUBSCRIPTION_DATA partner" in lines[1] and "rows of partner" in lines[1]


def test_tail_refused_for_good_exits_2_with_the_reason() -> None:
    with tiny_server(lambda ws: None, refuse=401) as url:
        code, out, err = bus("tail", url, "--json")
    assert code == 2 and out == ""
    assert "failed: " in err and "401" in err


def test_tail_bad_filter_exits_64_with_the_column(server: ServerThread) -> None:
    code, out, err = bus("tail", server.url, "--filter", "type:QUERY (entity:partner")
    assert code == 64 and out == ""
    assert "--filter: column" in err and "^" in err


def test_tail_masks_secret_fields() -> None:
    def leaky(ws: ServerConnection) -> None:
        ws.send('{"type":"STORE_UPDATE","entity":"user","data":{"name":"ann","password":"hunter2"}}')
        ws.send('{"type":"ERROR","error":"bad header Authorization: Bearer abcdefghijkl"}')
        for _ in ws:
            pass

    with tiny_server(leaky) as url:
        code, out, _ = bus("tail", url, "--json", "--count", "2")
        assert code == 0
        assert "hunter2" not in out and "abcdefghijkl" not in out
        assert orjson.loads(out.splitlines()[0])["frame"]["data"] == {"name": "ann", "password": "***"}
        code, out, _ = bus("tail", url, "--count", "2")
    assert code == 0 and "hunter2" not in out and "abcdefghijkl" not in out


def test_tail_filter_sees_a_broadcast_from_another_client(server: ServerThread) -> None:
    """The console script in a real process: tail waits for the STORE_UPDATE a mutation causes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "busconsole.cli", "tail", server.url, "-s", "partner", "--json",
           "--filter", "type:STORE_UPDATE entity:partner", "--count", "1"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        try:
            server.wait_for_received(1, timeout=PROC_TIMEOUT)  # tail's SUBSCRIBE is registered
            code, _, err = bus("send", server.url, "MUTATION", "partner", "-o", "CREATE",
                               "--payload", '{"name": "seen-by-tail", "type": "CUSTOMER"}')
            assert code == 0, err
            out, err_bytes = proc.communicate(timeout=PROC_TIMEOUT)
        finally:
            proc.kill()
    assert proc.returncode == 0, err_bytes
    (line,) = out.splitlines()
    rec = orjson.loads(line)
    assert rec["frame"]["type"] == "STORE_UPDATE" and b"seen-by-tail" in line
