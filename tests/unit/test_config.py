"""Profiles in config.toml: loading, defaults, options over profile, and errors with file:line: key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from busconsole import paths
from busconsole.commands.common import (
    ConnectOptions,
    parse_header,
    redacted_headers,
    redacted_url,
    resolve,
)
from busconsole.config import ConfigError, load_config

GOOD = """\
default_profile = "development"

[profiles.development]
url = "ws://127.0.0.1:3013/store-debug"
token_env = "DEV_TOKEN"
subscribe = ["partner", "cloud"]
redact = ["payload.apiKey", "pin"]
headers = { "X-Tenant" = "telcobright" }

[profiles.production]
url = "wss://store.example.com/store-debug"
read_only = true
"""


def write(text: str) -> Path:
    path = paths.ensure(paths.config_dir()) / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_missing_file_is_an_empty_config() -> None:
    cfg = load_config()
    assert cfg.profiles == {}
    assert cfg.profile() is None


def test_profiles_are_read_with_their_fields() -> None:
    write(GOOD)
    cfg = load_config()
    dev = cfg.profile()
    assert dev is not None and dev.name == "development"
    assert dev.url == "ws://127.0.0.1:3013/store-debug"
    assert dev.subscribe == ("partner", "cloud")
    assert dev.redact == ("payload.apiKey", "pin")
    assert dev.headers == {"X-Tenant": "telcobright"}
    prod = cfg.profile("production")
    assert prod is not None and prod.read_only and prod.subscribe == ()


def test_unknown_profile_names_the_known_ones() -> None:
    write(GOOD)
    with pytest.raises(ConfigError, match=r"no profile named 'staging' \(known: development, production\)"):
        load_config().profile("staging")


@pytest.mark.parametrize(
    ("text", "line", "key", "problem"),
    [
        ('[profiles.dev]\nurl = "ws://x"\nread_only = "yes"\n', 3, "profiles.dev.read_only", "true or false"),
        ('[profiles.dev]\nurl = "http://x"\n', 2, "profiles.dev.url", "ws:// or wss://"),
        ('\n[profiles.dev]\nurl = "ws://x"\ncolour = "red"\n', 4, "profiles.dev.colour", "unknown key"),
        ('[profiles.dev]\nsubscribe = "partner"\n', 2, "profiles.dev.subscribe", "list of entity names"),
        ('[profiles.dev]\nheaders = { A = 1 }\n', 2, "profiles.dev.headers", "table of header"),
        ('default_profile = "nope"\n[profiles.dev]\n', 1, "default_profile", "no profile named 'nope'"),
        ('theme = "dark"\n', 1, "theme", "unknown key"),
        ('[profiles]\ndev = 3\n', 2, "profiles.dev", "must be a table"),
    ],
)
def test_errors_name_file_line_and_key(text: str, line: int, key: str, problem: str) -> None:
    path = write(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    err = info.value
    assert (err.path, err.line, err.key) == (path, line, key)
    assert problem in err.problem
    assert str(err).startswith(f"{path}:{line}: {key}: ")


def test_toml_syntax_error_gives_line_and_column() -> None:
    path = write('[profiles.dev]\nurl = "ws://x"\nread_only = tru\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: TOML syntax at column")


def test_options_override_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    write(GOOD)
    monkeypatch.setenv("DEV_TOKEN", "s3cret-from-env")
    base = resolve()
    assert base.url == "ws://127.0.0.1:3013/store-debug"
    assert base.headers == {"X-Tenant": "telcobright", "Authorization": "Bearer s3cret-from-env"}
    assert base.subscribe == ("partner", "cloud")
    assert base.redact == ("payload.apiKey", "pin")
    over = resolve("ws://127.0.0.1:9/other", token="cli-token", headers=["X-Tenant: acme", "X-Trace:1"],
                   subscribe=["compute"], read_only=True)
    assert over.url == "ws://127.0.0.1:9/other"
    assert over.headers == {"X-Tenant": "acme", "X-Trace": "1", "Authorization": "Bearer cli-token"}
    assert over.subscribe == ("compute",)
    assert over.read_only is True
    prod = resolve(profile="production")
    assert prod.read_only is True and prod.url.startswith("wss://") and "Authorization" not in prod.headers


def test_no_config_uses_the_default_url() -> None:
    opts = resolve()
    assert opts == ConnectOptions(url="ws://localhost:3013/store-debug")


def test_bad_header_and_url_are_value_errors() -> None:
    with pytest.raises(ValueError, match="expected 'Name: value'"):
        parse_header("no-colon")
    with pytest.raises(ValueError, match="ws:// or wss://"):
        resolve("http://127.0.0.1:3013")


def test_secrets_are_redacted_for_display() -> None:
    opts = resolve("ws://user:pw@127.0.0.1:3013/x?token=abc&room=1", token="t0ps3cret",
                   headers=["X-Api-Key: k3y", "X-Tenant: acme"])
    shown = f"{opts.redacted_url()} {opts.redacted_headers()}"
    for secret in ("pw", "abc", "t0ps3cret", "k3y"):
        assert secret not in shown.replace("***", "")
    assert opts.redacted_headers() == {"X-Api-Key": "***", "X-Tenant": "acme", "Authorization": "Bearer ***"}
    assert redacted_url("ws://127.0.0.1/x?room=1") == "ws://127.0.0.1/x?room=1"
    assert redacted_headers({"Cookie": "sid=1"}) == {"Cookie": "***"}
