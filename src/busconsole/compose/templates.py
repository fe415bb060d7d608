"""Named frame templates: shipped ones, the user's own (saved from the composer), and files.

A template is what the composer's fields hold (type, entity, operation, payload
text), not a finished frame: requestId and timestamp are made fresh and
placeholders expanded each time it is used. The payload is kept as JSON *text* so a
saved template keeps its layout and its ``{{placeholders}}``; files may also give it
as a TOML table or JSON object.

File shape, TOML (``templates.toml``) or JSON with the same structure::

    [templates.query-partners]
    description = "First page of partners"
    type = "QUERY"
    entity = "partner"
    payload = '''{"kind": "partner", "page": {"limit": 20, "offset": 0}}'''

A JSON file may also hold a list of templates, each with a ``name``.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from busconsole import paths

USER_FILE = "templates.toml"


class TemplateError(ValueError):
    """A template file that cannot be read, or a name that is not there; the message says which."""


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    type: str
    entity: str = ""
    operation: str = ""
    payload_text: str = ""
    description: str = ""
    origin: str = ""  # "builtin", "user" or a file path: where a name comes from when two clash

    @classmethod
    def from_mapping(cls, name: str, data: Any, origin: str) -> Template:
        if not isinstance(data, dict):
            raise TemplateError(f"{origin}: template {name!r} is not a table")
        kind = data.get("type")
        if not isinstance(kind, str) or not kind.strip():
            raise TemplateError(f"{origin}: template {name!r}: 'type' is required")
        payload = data.get("payload", "")
        text = payload if isinstance(payload, str) else json.dumps(payload, indent=2, ensure_ascii=False)
        return cls(
            name=name,
            type=kind.strip().upper(),
            entity=str(data.get("entity") or ""),
            operation=str(data.get("operation") or ""),
            payload_text=text,
            description=str(data.get("description") or ""),
            origin=origin,
        )


def parse_templates(text: str, origin: str, fmt: str) -> list[Template]:
    """Templates in ``text``; ``fmt`` is "toml" or "json". Raises TemplateError with the place."""
    try:
        doc: Any = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{origin}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{origin}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if isinstance(doc, list):
        out = []
        for i, item in enumerate(doc):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise TemplateError(f"{origin}: item {i} has no 'name'")
            out.append(Template.from_mapping(item["name"], item, origin))
        return out
    table = doc.get("templates", {}) if isinstance(doc, dict) else None
    if not isinstance(table, dict):
        raise TemplateError(f"{origin}: expected a 'templates' table")
    return [Template.from_mapping(str(name), data, origin) for name, data in table.items()]


def load_file(path: Path) -> list[Template]:
    """Templates in a TOML or JSON file (by suffix; ``.json`` is JSON, anything else TOML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{path}: {exc.strerror or exc}") from None
    return parse_templates(text, str(path), "json" if path.suffix.lower() == ".json" else "toml")


def builtin_templates() -> list[Template]:
    text = resources.files("busconsole").joinpath("templates", "builtin.toml").read_text("utf-8")
    return parse_templates(text, "builtin", "toml")


# --------------------------------------------------------------------------- TOML writing


def _basic(value: str) -> str:
    # JSON string escapes are TOML basic-string escapes, except that TOML forbids
    # surrogate \u escapes (hence ensure_ascii=False) and a raw DEL character.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_string(value: str) -> str:
    """A TOML string literal for any text: multi-line literal when readable, else escaped."""
    plain = all(c in "\n\t" or (c >= " " and c != "\x7f") for c in value)
    if plain and "'''" not in value and not value.endswith("'"):
        return "'''\n" + value + "'''"
    return _basic(value)


def dump_templates(templates: Iterable[Template]) -> str:
    parts = [
        "# busconsole templates. payload is JSON text;"
        " {{now}} {{iso}} {{uuid}} {{rand}} expand at send time.\n"
    ]
    for t in templates:
        rows = [f"\n[templates.{_basic(t.name)}]"]
        for key in ("description", "type", "entity", "operation"):
            value = getattr(t, key)
            if value:
                rows.append(f"{key} = {_basic(value)}")
        rows.append(f"payload = {toml_string(t.payload_text)}")
        parts.append("\n".join(rows) + "\n")
    return "".join(parts)


# --------------------------------------------------------------------------- the catalogue


class Templates:
    """Shipped templates, the user's file, and any extra files; later sources win on a name clash."""

    def __init__(self, user_file: Path | None = None, extra_files: Iterable[Path] = ()) -> None:
        self.user_file = user_file or paths.config_dir() / USER_FILE
        self.extra_files = tuple(extra_files)

    def user(self) -> list[Template]:
        if not self.user_file.exists():
            return []
        return [_with_origin(t, "user") for t in load_file(self.user_file)]

    def all(self) -> dict[str, Template]:
        found: dict[str, Template] = {t.name: t for t in builtin_templates()}
        found.update((t.name, t) for t in self.user())
        for path in self.extra_files:
            found.update((t.name, t) for t in load_file(path))
        return found

    def get(self, name: str) -> Template:
        known = self.all()
        if name in known:
            return known[name]
        close = difflib.get_close_matches(name, list(known), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(known))}"
        raise TemplateError(f"no template named {name!r}{hint}")

    def save(self, template: Template) -> Path:
        """Add or replace ``template`` in the user's file (written atomically, mode 0600)."""
        mine = {t.name: t for t in self.user()}
        mine[template.name] = _with_origin(template, "user")
        paths.ensure(self.user_file.parent)
        tmp = self.user_file.with_name(self.user_file.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dump_templates(mine.values()))
        os.replace(tmp, self.user_file)
        return self.user_file


def _with_origin(t: Template, origin: str) -> Template:
    return Template(t.name, t.type, t.entity, t.operation, t.payload_text, t.description, origin)
