"""``busconsole tail``'s typer-free path: the same keywords as the typer command, or None."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from busconsole.cli import app
from busconsole.commands import tail

runner = CliRunner()

TAKEN = [
    [],
    ["ws://127.0.0.1:9/x"],
    ["ws://127.0.0.1:9/x", "--json", "--count", "200000"],
    ["ws://h/x", "--json", "-n", "1"],
    ["--count=7", "ws://h/x", "--no-color"],
    ["ws://h/x", "--color", "-t", "STORE_UPDATE", "--type", "QUERY,ERROR", "-e", "partner", "--entity=compute"],
    ["ws://h/x", "-f", "type:ERROR", "--token", "t0k", "-p", "dev", "-H", "X-A: 1", "--header", "X-B: 2"],
    ["ws://h/x", "-s", "partner", "--subscribe", "compute", "--filter=level:error", "--profile=prod"],
    ["ws://h/x", "--server-logs", "./debug-store", "--json"],
]
DECLINED = [
    ["ws://a", "ws://b"],
    ["ws://h", "--count", "0"],
    ["ws://h", "--count", "x"],
    ["ws://h", "--count", "1_0"],
    ["ws://h", "-n5"],
    ["ws://h", "--json", "--json"],
    ["ws://h", "--count", "1", "--count", "2"],
    ["ws://h", "--color", "--no-color"],
    ["ws://h", "--json=1"],
    ["ws://h", "--filter", "-x"],
    ["ws://h", "--filter"],
    ["ws://h", "--", "x"],
    ["ws://h", "--help"],
    ["ws://h", "--nope"],
    ["-"],
]


def typer_keywords(args: list[str], monkeypatch: pytest.MonkeyPatch, env: dict[str, str] | None = None
                   ) -> dict[str, Any]:
    got: dict[str, Any] = {}

    def record(**kw: Any) -> None:
        got.update(kw)
        raise typer.Exit(0)

    monkeypatch.setattr(tail, "run", record)
    result = runner.invoke(app, ["tail", *args], env=env)
    assert result.exit_code == 0, result.output
    return got


@pytest.mark.parametrize("args", TAKEN)
def test_the_fast_path_passes_what_typer_passes(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = tail.fast_args(args)
    assert fast is not None
    assert fast == typer_keywords(args, monkeypatch)


@pytest.mark.parametrize("env", [{"BUSCONSOLE_TOKEN": "from-env"}, {"BUSCONSOLE_PROFILE": "dev"},
                                 {"BUSCONSOLE_TOKEN": "from-env", "BUSCONSOLE_PROFILE": "dev"}])
@pytest.mark.parametrize("args", [["ws://h/x"], ["ws://h/x", "--token", "t", "-p", "prod"]])
def test_the_environment_is_read_as_typer_reads_it(args: list[str], env: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fast = tail.fast_args(args)
    assert fast is not None
    assert fast == typer_keywords(args, monkeypatch, env)


@pytest.mark.parametrize("args", DECLINED)
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert tail.fast_args(args) is None


def test_an_empty_environment_value_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUSCONSOLE_TOKEN", "")
    assert tail.fast_args(["ws://h/x"]) is None


def test_usage_errors_exit_as_the_command_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert tail.fast_run(["http://h/x"]) == 64
    assert "expected ws:// or wss://" in capsys.readouterr().err
    assert tail.fast_run(["ws://h/x", "--filter", "type:("]) == 64
    assert "--filter" in capsys.readouterr().err
    for args in (["http://h/x"], ["ws://h/x", "--filter", "type:("]):
        assert runner.invoke(app, ["tail", *args]).exit_code == 64
