"""The entity store (real SQLite files) and the demo seed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from busconsole.server.db import EntityStore, MutationError
from busconsole.server.seed import COMPUTE_STATUSES, KINDS, demo_rows, seed_demo
from busconsole.server.stellar import foreign_key


def test_create_update_delete_write_through_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "store.db"
    store = EntityStore(path, KINDS)
    first = store.create("compute", {"name": "a", "status": "ACTIVE"})
    second = store.create("compute", {"name": "b"})
    assert (first["id"], second["id"]) == (1, 2)
    assert first["createdAt"] == first["updatedAt"]
    updated = store.update("compute", {"id": "1", "status": "MAINTENANCE"})  # digit strings accepted
    assert updated["status"] == "MAINTENANCE" and updated["name"] == "a" and updated["id"] == 1
    assert store.delete("compute", {"id": 2})["name"] == "b"
    store.close()

    again = EntityStore(path, KINDS)
    assert again.rows("compute") == [updated]
    assert again.create("compute", {"name": "c"})["id"] == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again.close()


@pytest.mark.parametrize(
    ("operation", "payload", "message"),
    [
        ("update", {"status": "x"}, "payload.id is required"),
        ("update", {"id": 42}, "compute 42 not found"),
        ("delete", {"id": 42}, "compute 42 not found"),
        ("delete", {"id": "x1"}, "id must be an integer"),
        ("update", {"id": True}, "id must be an integer"),
        ("create", {"id": 1}, "compute 1 already exists"),
    ],
)
def test_bad_mutations_raise_mutation_error(operation: str, payload: dict[str, object], message: str) -> None:
    store = EntityStore(":memory:", KINDS)
    store.create("compute", {"name": "only"})
    with pytest.raises(MutationError, match=message):
        getattr(store, operation)("compute", payload)
    assert store.count("compute") == 1


def test_known_kinds_are_case_insensitive() -> None:
    store = EntityStore(":memory:", ("compute",))
    assert store.known("Compute") and not store.known("widget")


def test_demo_seed_is_deterministic_linked_and_loaded_once() -> None:
    rows = demo_rows()
    assert rows == demo_rows()
    assert set(rows) == set(KINDS)
    assert all(rows[k] for k in KINDS)
    assert rows["partner"][0]["name"] == "telcobright"
    assert {c["status"] for c in rows["compute"]} == set(COMPUTE_STATUSES)
    parents = {
        "cloud": "partner",
        "region": "cloud",
        "availabilityzone": "region",
        "datacenter": "availabilityzone",
        "compute": "datacenter",
        "networkdevice": "datacenter",
        "environment": "partner",
    }
    for kind, parent in parents.items():
        parent_ids = {p["id"] for p in rows[parent]}
        assert all(foreign_key(r, parent) in parent_ids for r in rows[kind]), kind

    store = EntityStore(":memory:", KINDS)
    assert seed_demo(store) is True
    total = store.count()
    assert total == sum(len(v) for v in rows.values())
    assert seed_demo(store) is False and store.count() == total
