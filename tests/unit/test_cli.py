"""cli.py: command dispatch and the documented exit code for bad usage."""

from __future__ import annotations

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
