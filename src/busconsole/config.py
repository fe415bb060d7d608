"""Named connection profiles in ``<config dir>/config.toml`` (development / staging / production).

A profile holds what a person would otherwise retype on every command: the URL,
the *name* of the environment variable holding the token (never the token itself,
so the file can be shared), a read-only flag, redaction rules and default
subscriptions. A bad file must be fixable from the message alone, so every
:class:`ConfigError` names the file, the line and the key.

Example::

    default_profile = "development"

    [profiles.development]
    url = "ws://localhost:3013/store-debug"
    token_env = "STORE_DEV_TOKEN"
    subscribe = ["partner", "cloud"]
    redact = ["password", "payload.apiKey"]
    headers = { "X-Tenant" = "telcobright" }
    doctor = { slow_ms = 500, large_bytes = 131072 }   # thresholds of `--doctor`

    [profiles.production]
    url = "wss://store.example.com/store-debug"
    read_only = true
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from busconsole import paths

CONFIG_NAME = "config.toml"


class ConfigError(Exception):
    """A config file problem, already phrased as ``file:line: key: what is wrong``."""

    def __init__(self, path: Path, line: int | None, key: str | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.problem = problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    url: str | None = None
    token_env: str | None = None
    read_only: bool = False
    redact: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    doctor: dict[str, float] = field(default_factory=dict)  # the bus doctor's thresholds by name


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None
    default_profile: str | None = None
    profiles: dict[str, Profile] = field(default_factory=dict)

    def profile(self, name: str | None = None) -> Profile | None:
        """The named profile, else the default one, else None. An unknown name is an error."""
        chosen = name or self.default_profile
        if chosen is None:
            return None
        if chosen not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none defined"
            where = self.path if self.path is not None else Path(CONFIG_NAME)
            raise ConfigError(where, None, "profile", f"no profile named {chosen!r} (known: {known})")
        return self.profiles[chosen]


def default_path() -> Path:
    return paths.config_dir() / CONFIG_NAME


def load_config(path: Path | None = None) -> Config:
    """Read and check the config file. A missing file is an empty config, not an error."""
    path = path if path is not None else default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, None, f"cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
        return _Checker(path, text).config(data)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(path, exc) from None
    except RecursionError:
        raise ConfigError(path, None, None, "nested too deeply (tables or arrays inside each other)") from None


_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


def _syntax_error(path: Path, exc: tomllib.TOMLDecodeError) -> ConfigError:
    msg = str(exc)
    m = _AT_LINE.search(msg)
    if m is None:
        return ConfigError(path, None, None, f"TOML syntax: {msg}")
    line, col = int(m.group(1)), int(m.group(2))
    return ConfigError(path, line, None, f"TOML syntax at column {col}: {_AT_LINE.sub('', msg)}")


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_str_table(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


def _is_number_table(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in v.values()
    )


def _is_ws_url(v: Any) -> bool:
    return isinstance(v, str) and v.startswith(("ws://", "wss://"))


# key -> (check, what the value must be)
_PROFILE_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "url": (_is_ws_url, "a ws:// or wss:// URL string"),
    "token_env": (lambda v: isinstance(v, str) and bool(v), "the name of an environment variable"),
    "read_only": (lambda v: isinstance(v, bool), "true or false"),
    "redact": (_is_str_list, "a list of field names or dotted paths"),
    "subscribe": (_is_str_list, "a list of entity names"),
    "headers": (_is_str_table, "a table of header name = string value"),
    "doctor": (_is_number_table, "a table of doctor threshold = number, e.g. { slow_ms = 500 }"),
}


class _Checker:
    """Validates the parsed TOML and finds the source line of an offending key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def fail(self, table: str, key: str, problem: str) -> ConfigError:
        dotted = f"{table}.{key}" if table else key
        return ConfigError(self.path, self.line_of(table, key), dotted, problem)

    def line_of(self, table: str, key: str) -> int | None:
        """Line of ``key = ...`` inside ``[table]`` (or the table header itself), 1-based."""
        header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
        assign = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        current = ""
        for no, line in enumerate(self.lines, 1):
            m = header.match(line)
            if m:
                current = m.group(1).replace('"', "").replace(" ", "")
                if table and current == f"{table}.{key}":
                    return no
                continue
            if current == table and assign.match(line):
                return no
        if table:  # the key may be the table itself, e.g. [profiles.dev] for key "dev"
            for no, line in enumerate(self.lines, 1):
                m = header.match(line)
                if m and m.group(1).replace('"', "").replace(" ", "") == table:
                    return no
        return None

    def config(self, data: dict[str, Any]) -> Config:
        for key in data:
            if key not in ("default_profile", "profiles"):
                raise self.fail("", key, "unknown key (expected default_profile or [profiles.NAME])")
        raw_profiles = data.get("profiles", {})
        if not isinstance(raw_profiles, dict):
            raise self.fail("", "profiles", "must be tables, e.g. [profiles.development]")
        profiles = {name: self.profile(name, body) for name, body in raw_profiles.items()}
        default = data.get("default_profile")
        if default is not None:
            if not isinstance(default, str):
                raise self.fail("", "default_profile", "must be a profile name (a string)")
            if default not in profiles:
                known = ", ".join(sorted(profiles)) or "none defined"
                raise self.fail("", "default_profile", f"no profile named {default!r} (known: {known})")
        return Config(path=self.path, default_profile=default, profiles=profiles)

    def profile(self, name: str, body: Any) -> Profile:
        table = f"profiles.{name}"
        if not isinstance(body, dict):
            raise self.fail("profiles", name, "must be a table, e.g. [profiles.NAME]")
        for key, value in body.items():
            if key not in _PROFILE_KEYS:
                known = ", ".join(_PROFILE_KEYS)
                raise self.fail(table, key, f"unknown key (known: {known})")
            check, expected = _PROFILE_KEYS[key]
            if not check(value):
                raise self.fail(table, key, f"must be {expected}, not {value!r}")
        return Profile(
            name=name,
            url=body.get("url"),
            token_env=body.get("token_env"),
            read_only=body.get("read_only", False),
            redact=tuple(body.get("redact", ())),
            subscribe=tuple(body.get("subscribe", ())),
            headers=dict(body.get("headers", {})),
            doctor={k: float(v) for k, v in body.get("doctor", {}).items()},
        )
