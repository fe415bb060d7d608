"""Where busconsole keeps its files (XDG, via platformdirs); tests point XDG_* at a temp dir."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "busconsole"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP))


def sessions_dir() -> Path:
    return state_dir() / "sessions"


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
