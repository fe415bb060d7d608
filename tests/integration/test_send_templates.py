"""`busconsole send` with templates, placeholders and the read-only / confirmation safety."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from busconsole.cli import app
from busconsole.server.runner import ServerThread

runner = CliRunner()


def sent_types(server: ServerThread) -> list[str]:
    return [json.loads(r)["type"].upper() for r in server.received if isinstance(r, str)]


def test_template_query_prints_the_result(server: ServerThread) -> None:
    result = runner.invoke(app, ["send", server.url, "--template", "query-partners"])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.stdout)
    assert reply["type"] == "QUERY_RESULT" and reply["entity"] == "partner"
    assert reply["data"]["data"][0]["name"]


def test_read_only_refuses_a_mutation_and_sends_nothing(server: ServerThread) -> None:
    result = runner.invoke(app, ["send", server.url, "--template", "update-compute-status", "--read-only"])
    assert result.exit_code == 64
    assert "read-only" in result.output
    assert "MUTATION" not in sent_types(server)


def test_delete_needs_yes(server: ServerThread) -> None:
    args = ["send", server.url, "MUTATION", "compute", "-o", "DELETE", "-d", '{"id": 2}']
    refused = runner.invoke(app, args)
    assert refused.exit_code == 64 and "DELETE of compute id 2" in refused.output
    assert "MUTATION" not in sent_types(server)
    done = runner.invoke(app, [*args, "--yes"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["type"] == "MUTATION_SUCCESS"


def test_payload_placeholders_expand_at_send_time(server: ServerThread) -> None:
    payload = '{"id": 1, "status": "MAINTENANCE", "note": "{{uuid}}", "at": "{{now}}"}'
    result = runner.invoke(app, ["send", server.url, "MUTATION", "compute", "-o", "UPDATE", "-d", payload])
    assert result.exit_code == 0, result.output
    sent = json.loads([r for r in server.received if isinstance(r, str) and "MUTATION" in r][-1])
    assert "{{" not in json.dumps(sent)
    assert isinstance(sent["payload"]["at"], int) and len(sent["payload"]["note"]) == 36


def test_unknown_template_is_bad_usage(server: ServerThread) -> None:
    result = runner.invoke(app, ["send", server.url, "--template", "no-such-template"])
    assert result.exit_code == 64
    assert "no-such-template" in result.output
