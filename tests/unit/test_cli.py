"""cli.py: command dispatch and the documented exit code for bad usage."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from busconsole.cli import COMMANDS, app

runner = CliRunner()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_bad_usage_exits_64_not_2() -> None:
    result = runner.invoke(app, ["send", "ws://127.0.0.1:9/x", "QUERY", "partner", "--timeout", "abc"])
    assert result.exit_code == 64


@pytest.mark.parametrize(
    "args",
    [
        ["connect", "ws://127.0.0.1:9/x"],
        ["record", "ws://127.0.0.1:9/x", "-o", "{tmp}/never-written.jsonl"],
        ["proxy", "--no-tui", "--no-record"],
    ],
)
def test_a_bad_filter_exits_64_with_the_column_before_anything_starts(args: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, [*(a.format(tmp=tmp_path) for a in args), "--filter", "type:("])
    assert result.exit_code == 64
    assert "error: --filter: column 6" in result.stderr
    assert not list(tmp_path.iterdir())
