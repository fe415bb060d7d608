"""Stellar criteria, sort and page, table-driven over a handful of rows."""

from __future__ import annotations

from typing import Any

import pytest

from busconsole.server.stellar import (
    StellarError,
    child_key,
    foreign_key,
    includes_of,
    matches,
    page_of,
    select,
    sort_rows,
)

ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "alpha-node", "status": "ACTIVE", "cpu": 8, "tags": ["edge", "gpu"], "on": True},
    {"id": 2, "name": "beta-node", "status": "INACTIVE", "cpu": 16, "tags": [], "on": False},
    {"id": 3, "name": "Gamma", "status": "MAINTENANCE", "cpu": 32, "tags": ["gpu"]},
    {"id": 4, "name": "delta", "status": "ACTIVE", "cpu": None, "tags": ["edge"], "on": 1},
]


def ids(criteria: dict[str, Any] | None) -> list[int]:
    return [r["id"] for r in ROWS if matches(r, criteria)]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (None, [1, 2, 3, 4]),
        ({}, [1, 2, 3, 4]),
        ({"status": "ACTIVE"}, [1, 4]),
        ({"status": "active"}, []),  # equality is exact
        ({"status": "ACTIVE", "cpu": 8}, [1]),  # terms are ANDed
        ({"missing": None}, [1, 2, 3, 4]),  # an absent field equals null
        ({"on": True}, [1]),  # true is not 1
        ({"on": 1}, [4]),
        ({"status": {"$eq": "INACTIVE"}}, [2]),
        ({"status": {"$ne": "ACTIVE"}}, [2, 3]),
        ({"status": {"$in": ["INACTIVE", "MAINTENANCE"]}}, [2, 3]),
        ({"status": {"$in": []}}, []),
        ({"cpu": {"$gt": 8}}, [2, 3]),
        ({"cpu": {"$gte": 16}}, [2, 3]),
        ({"cpu": {"$lt": 16}}, [1]),  # null never compares
        ({"cpu": {"$lte": 16}}, [1, 2]),
        ({"cpu": {"$gt": 8, "$lt": 32}}, [2]),  # operators on one field are ANDed
        ({"cpu": {"$gt": "8"}}, []),  # across types: false, not an exception
        ({"name": {"$gt": "c"}}, [4]),  # strings compare as strings ("Gamma" < "c")
        ({"name": {"$contains": "NODE"}}, [1, 2]),  # substring, case-insensitive
        ({"tags": {"$contains": "gpu"}}, [1, 3]),  # list membership
        ({"cpu": {"$contains": 8}}, []),
        ({"$or": [{"status": "INACTIVE"}, {"cpu": 32}]}, [2, 3]),
        ({"$or": [{"status": "ACTIVE"}], "cpu": 8}, [1]),
        ({"$or": [{"$or": [{"id": 1}, {"id": 2}]}, {"id": 4}]}, [1, 2, 4]),  # nested
        ({"$or": [{"status": {"$in": ["ACTIVE"]}, "tags": {"$contains": "edge"}}, {"id": 3}]}, [1, 3, 4]),
        ({"meta": {"a": 1}}, []),  # a plain object is compared for equality, not read as operators
    ],
)
def test_criteria(criteria: dict[str, Any] | None, expected: list[int]) -> None:
    assert ids(criteria) == expected


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"cpu": {"$regex": "x"}}, "unknown operator '$regex'"),
        ({"$and": []}, "unknown operator '$and'"),
        ({"$or": []}, "$or needs a non-empty list"),
        ({"$or": {"id": 1}}, "$or needs a non-empty list"),
        ({"status": {"$in": "ACTIVE"}}, "$in needs a list"),
        (["status"], "criteria must be an object"),
    ],
)
def test_bad_criteria_raise_stellar_error(criteria: Any, message: str) -> None:
    with pytest.raises(StellarError, match=message.replace("$", r"\$")):
        ids(criteria)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, [1, 2, 3, 4]),
        ({"field": "cpu"}, [1, 2, 3, 4]),  # rows missing the field go last
        ({"field": "cpu", "order": "DESC"}, [3, 2, 1, 4]),
        ({"field": "cpu", "order": "desc"}, [3, 2, 1, 4]),
        ({"field": "name", "order": "ASC"}, [3, 1, 2, 4]),
        ({"field": "status", "order": "ASC"}, [1, 4, 2, 3]),  # stable among equals
        ({"field": "nope"}, [1, 2, 3, 4]),
    ],
)
def test_sort(sort: dict[str, Any] | None, expected: list[int]) -> None:
    assert [r["id"] for r in sort_rows(list(ROWS), sort)] == expected


@pytest.mark.parametrize(
    "sort", [{"order": "ASC"}, {"field": "cpu", "order": "UP"}, "cpu", {"field": 3}]
)
def test_bad_sort(sort: Any) -> None:
    with pytest.raises(StellarError, match="sort"):
        sort_rows(list(ROWS), sort)


@pytest.mark.parametrize(
    ("page", "expected", "window"),
    [
        (None, [1, 2, 3, 4], (None, 0)),
        ({"limit": 2}, [1, 2], (2, 0)),
        ({"limit": 2, "offset": 1}, [2, 3], (2, 1)),
        ({"limit": 10, "offset": 3}, [4], (10, 3)),
        ({"offset": 5}, [], (None, 5)),
        ({"limit": 0}, [], (0, 0)),
    ],
)
def test_page(page: dict[str, Any] | None, expected: list[int], window: tuple[Any, int]) -> None:
    query = {"kind": "x"} if page is None else {"kind": "x", "page": page}
    rows, total, win = select(ROWS, query)
    assert [r["id"] for r in rows] == expected
    assert total == 4
    assert (win.limit, win.offset) == window


@pytest.mark.parametrize("page", [{"limit": -1}, {"offset": "2"}, {"limit": True}, [10, 0]])
def test_bad_page(page: Any) -> None:
    with pytest.raises(StellarError, match="page"):
        page_of({"page": page})


def test_select_filters_then_sorts_then_pages_and_counts_the_total_before_paging() -> None:
    query = {
        "criteria": {"status": {"$ne": "MAINTENANCE"}},
        "sort": {"field": "cpu", "order": "DESC"},
        "page": {"limit": 2, "offset": 0},
    }
    rows, total, _ = select(ROWS, query)
    assert [r["id"] for r in rows] == [2, 1]
    assert total == 3


def test_includes_and_foreign_keys() -> None:
    assert includes_of({"kind": "partner"}) == []
    assert includes_of({"include": [{"kind": "cloud"}]}) == [{"kind": "cloud"}]
    with pytest.raises(StellarError, match="include"):
        includes_of({"include": [{"page": {}}]})
    with pytest.raises(StellarError, match="include"):
        includes_of({"include": {"kind": "cloud"}})
    assert foreign_key({"id": 9, "availabilityZoneId": 4}, "availabilityzone") == 4
    assert foreign_key({"id": 9, "partnerId": 2}, "partner") == 2
    assert foreign_key({"id": 9}, "partner") is None
    assert child_key("cloud") == "clouds"
    assert child_key("networkdevice") == "networkdevices"
