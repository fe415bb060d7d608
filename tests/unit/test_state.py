"""state.py: current state per entity, mutations applied by id, diffs rebuilt from frames."""

from __future__ import annotations

from typing import Any

from busconsole.state import Change, Diff, EntityState, apply_mutation, diff


def _state(*rows: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"entity": "partner", "query": {"kind": "partner"}, "data": list(rows), "meta": meta}


def test_diff_keys_rows_by_id() -> None:
    old = _state({"id": 1, "name": "a", "status": "NEW"}, {"id": 2, "name": "b"}, page=1)
    new = _state({"id": 3, "name": "c"}, {"id": 1, "name": "a", "status": "ACTIVE"}, page=1)
    assert diff(old, new) == [
        Change("changed", "$.data[id=1].status", "NEW", "ACTIVE"),
        Change("removed", "$.data[id=2]", {"id": 2, "name": "b"}, None),
        Change("added", "$.data[id=3]", None, {"id": 3, "name": "c"}),
    ]


def test_diff_positional_lists_keys_types_and_odd_names() -> None:
    assert diff({"a": [1, 2, 3]}, {"a": [1, 5]}) == [
        Change("changed", "$.a[1]", 2, 5), Change("removed", "$.a[2]", 3, None),
    ]
    assert diff({"x y": 1, "gone": True}, {"x y": 1.5, "new": None}) == [
        Change("changed", '$["x y"]', 1, 1.5),
        Change("removed", "$.gone", True, None),
        Change("added", "$.new", None, None),
    ]
    assert diff({"v": 1}, {"v": True}) == [Change("changed", "$.v", 1, True)]  # 1 == True, but not the same
    assert diff({"rows": [{"id": "p1", "n": 1}]}, {"rows": [{"id": "p1", "n": 2}]}) == [
        Change("changed", '$.rows[id="p1"].n', 1, 2)
    ]
    assert diff([{"id": 1}, {"id": 1}], [{"id": 1}]) == [Change("removed", "$[1]", {"id": 1}, None)]  # ids not unique
    assert diff(None, {"a": 1}) == [Change("changed", "$", None, {"a": 1})]
    assert diff(_state({"id": 1}), _state({"id": 1})) == []


def test_apply_mutation_create_update_delete() -> None:
    before = _state({"id": 1, "name": "a", "status": "NEW"})
    created = apply_mutation(before, "partner", "CREATE", {"id": 2, "name": "b"})
    updated = apply_mutation(created, "partner", "update", {"id": 1, "status": "ACTIVE"})
    deleted = apply_mutation(updated, "partner", "DELETE", {"id": 2})
    assert [r["id"] for r in created["data"]] == [1, 2]
    assert updated["data"][0] == {"id": 1, "name": "a", "status": "ACTIVE"}  # merged, not replaced
    assert deleted["data"] == [{"id": 1, "name": "a", "status": "ACTIVE"}]
    assert before["data"] == [{"id": 1, "name": "a", "status": "NEW"}]  # the old state is untouched
    assert apply_mutation(None, "cloud", "CREATE", {"id": 9}) == {"entity": "cloud", "data": [{"id": 9}]}
    assert apply_mutation(before, "partner", "UPDATE", {"name": "no id"}) is before
    tree = {"entity": "infrastructure", "data": {"partners": []}}
    assert apply_mutation(tree, "infrastructure", "CREATE", {"id": 1}) is tree


class Frames:
    """Frames by index, as the store would load them, feeding an EntityState."""

    def __init__(self) -> None:
        self.objs: dict[int, dict[str, Any]] = {}
        self.state = EntityState(self.objs.get)

    def add(self, obj: dict[str, Any]) -> int:
        index = len(self.objs)
        self.objs[index] = obj
        self.state.observe(index, obj["type"], obj.get("entity"), obj)
        return index


def test_state_follows_whole_states_and_mutations() -> None:
    f = Frames()
    sub = f.add({"type": "SUBSCRIPTION_DATA", "entity": "partner", "data": _state({"id": 1, "name": "a"})})
    f.add({"type": "QUERY", "entity": "partner", "payload": {"kind": "partner"}})
    m1 = f.add({"type": "MUTATION_SUCCESS", "entity": "partner", "operation": "CREATE", "data": {"id": 2, "name": "b"}})
    m2 = f.add({"type": "MUTATION_SUCCESS", "entity": "partner", "operation": "UPDATE", "data": {"id": 1, "name": "A"}})
    up = f.add({"type": "STORE_UPDATE", "entity": "partner", "data": _state({"id": 1, "name": "A"}, {"id": 2, "name": "b"}, v=2)})
    f.add({"type": "QUERY_RESULT", "entity": "cloud", "data": {"entity": "cloud", "data": []}})
    assert f.state.entities() == ["cloud", "partner"]
    assert f.state.current("partner")["data"] == [{"id": 1, "name": "A"}, {"id": 2, "name": "b"}]
    assert f.state.diff_at(sub) == Diff(sub, "partner", None, [Change("changed", "$", None, f.objs[sub]["data"])])
    assert f.state.diff_at(m1) == Diff(m1, "partner", sub, [Change("added", "$.data[id=2]", None, {"id": 2, "name": "b"})])
    assert f.state.diff_at(m2).changes == [Change("changed", "$.data[id=1].name", "a", "A")]  # type: ignore[union-attr]
    assert f.state.diff_at(up) == Diff(up, "partner", m2, [Change("added", "$.meta.v", None, 2)])
    assert f.state.diff_at(1) is None  # a QUERY changes no state
    assert f.state.current("nobody") is None


def test_diffs_are_rebuilt_from_frames_beyond_the_cache() -> None:
    f = Frames()
    f.add({"type": "QUERY_RESULT", "entity": "partner", "data": _state()})
    for k in range(200):  # far more than the state cache holds
        f.add({"type": "MUTATION_SUCCESS", "entity": "partner", "operation": "CREATE", "data": {"id": k}})
    assert f.state.diff_at(5) == Diff(5, "partner", 4, [Change("added", "$.data[id=4]", None, {"id": 4})])
    assert len(f.state.current("partner")["data"]) == 200


def test_evict_keeps_current_state_and_refuses_diffs_it_cannot_rebuild() -> None:
    f = Frames()
    f.add({"type": "QUERY_RESULT", "entity": "partner", "data": _state({"id": 1})})
    m = f.add({"type": "MUTATION_SUCCESS", "entity": "partner", "operation": "CREATE", "data": {"id": 2}})
    m2 = f.add({"type": "MUTATION_SUCCESS", "entity": "partner", "operation": "CREATE", "data": {"id": 3}})
    full = f.add({"type": "STORE_UPDATE", "entity": "partner", "data": _state({"id": 1}, {"id": 2}, {"id": 3})})
    again = f.add({"type": "STORE_UPDATE", "entity": "partner", "data": _state({"id": 1}, {"id": 3})})
    f.state.evict(m)
    del f.objs[0]
    f.state._cache.clear()  # as if the cache had moved on
    assert f.state.diff_at(m) is None  # compared with a state that was evicted
    assert f.state.diff_at(m2) is None  # its rows were built on the evicted whole state
    assert f.state.diff_at(full) is None
    assert f.state.diff_at(again) == Diff(again, "partner", full, [Change("removed", "$.data[id=2]", {"id": 2}, None)])
    assert [r["id"] for r in f.state.current("partner")["data"]] == [1, 3]
