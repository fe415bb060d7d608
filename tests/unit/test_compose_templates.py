"""compose_templates.py and resolve_template: shipped, saved, TOML and JSON files."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from busconsole import paths
from busconsole.compose.draft import ComposeError, check_send, resolve_template, validate
from busconsole.compose.templates import (
    Template,
    TemplateError,
    Templates,
    builtin_templates,
    load_file,
    toml_string,
)
from busconsole.wire import decode


def test_every_shipped_template_is_valid_and_builds() -> None:
    shipped = builtin_templates()
    names = {t.name for t in shipped}
    assert {"query-partners", "query-computes-by-status", "update-compute-status",
            "create-partner", "subscribe-compute"} <= names
    for t in shipped:
        v = validate(t.type, t.entity, t.operation, t.payload_text)
        assert v.ok, (t.name, v.reason)
        assert not v.warnings, (t.name, v.warnings)
        frame = resolve_template(t.name)
        assert decode(orjson.dumps(frame))["type"].upper() == frame["type"].upper()
        assert "{{" not in json.dumps(frame)


def test_resolve_template_gives_a_fresh_frame_each_time() -> None:
    a, b = resolve_template("update-compute-status"), resolve_template("update-compute-status")
    assert a["type"] == "MUTATION" and a["operation"] == "UPDATE" and a["payload"]["id"] == 1
    assert a["requestId"] != b["requestId"]
    assert isinstance(resolve_template("console-logs")["messages"][0]["timestamp"], int)


def test_unknown_template_suggests_close_names() -> None:
    with pytest.raises(TemplateError, match="did you mean query-partners"):
        resolve_template("query-partner")


def test_saved_templates_go_to_the_config_dir_and_override_shipped_ones() -> None:
    store = Templates()
    path = store.save(Template("query-partners", "QUERY", "partner", payload_text='{"kind": "partner", "criteria": {"id": 2}}'))
    assert path == paths.config_dir() / "templates.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.save(Template("mine", "MUTATION", "compute", "DELETE", '{\n  "id": "{{rand}}"\n}', "mine"))
    again = Templates()
    assert again.get("query-partners").origin == "user"
    assert resolve_template("query-partners")["payload"]["criteria"] == {"id": 2}
    assert again.get("mine").payload_text == '{\n  "id": "{{rand}}"\n}'
    assert "shipped" not in path.read_text() and tomllib.loads(path.read_text())["templates"]["mine"]["operation"] == "DELETE"
    assert isinstance(resolve_template("mine")["payload"]["id"], int)


def test_templates_from_toml_and_json_files(tmp_path: Path) -> None:
    toml_file = tmp_path / "team.toml"
    toml_file.write_text(
        '[templates.maint]\ntype = "mutation"\nentity = "compute"\noperation = "UPDATE"\n'
        'payload = { id = 3, status = "MAINTENANCE" }\n'
    )
    json_file = tmp_path / "team.json"
    json_file.write_text(json.dumps([{"name": "sub", "type": "SUBSCRIBE", "entity": "partner"}]))
    (t,) = load_file(toml_file)
    assert (t.type, json.loads(t.payload_text)) == ("MUTATION", {"id": 3, "status": "MAINTENANCE"})
    assert resolve_template("maint", files=[toml_file])["payload"] == {"id": 3, "status": "MAINTENANCE"}
    assert resolve_template("sub", files=[json_file])["type"] == "SUBSCRIBE"
    obj_file = tmp_path / "obj.json"
    obj_file.write_text(json.dumps({"templates": {"q": {"type": "QUERY", "entity": "cloud"}}}))
    assert resolve_template("q", files=[obj_file])["payload"] == {"kind": "cloud"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.toml", "[templates.x\n", "bad.toml: "),
        ("bad.json", '{"templates": {"x": {"type": "QUERY",}}}', "bad.json: line 1, column 38"),
        ("notype.toml", '[templates.x]\nentity = "a"\n', "template 'x': 'type' is required"),
        ("list.json", '[{"type": "QUERY"}]', "item 0 has no 'name'"),
        ("shape.json", '{"templates": [1]}', "expected a 'templates' table"),
    ],
)
def test_bad_template_files_say_where(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TemplateError, match=message.replace("(", r"\(")):
        load_file(path)


def test_missing_file_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="No such file"):
        load_file(tmp_path / "absent.toml")


def test_invalid_template_content_is_refused_when_resolved(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text('[templates.del]\ntype = "MUTATION"\nentity = "compute"\noperation = "DELETE"\npayload = "{}"\n')
    with pytest.raises(ComposeError, match="payload.id is required for DELETE"):
        resolve_template("del", files=[f])


def test_headless_read_only_refuses_a_mutation_template() -> None:
    assert check_send(resolve_template("create-partner"), read_only=True) is not None
    assert check_send(resolve_template("query-partners"), read_only=True) is None


@given(st.text())
def test_any_text_round_trips_through_toml(value: str) -> None:
    assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value
