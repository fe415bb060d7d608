"""Stellar criteria, sort and page, table-driven over a handful of rows."""

from __future__ import annotations

from typing import Any

import pytest

from busconsole.server.stellar import (
    LIMITS,
    Limits,
    StellarError,
    check_limits,
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


def _nested(depth: int) -> dict[str, Any]:
    criteria: dict[str, Any] = {"name": "x"}
    for _ in range(depth):
        criteria = {"$or": [criteria]}
    return {"kind": "compute", "criteria": criteria}


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        ({"kind": "compute", "criteria": {"name": "x" * (LIMITS.max_bytes + 1)}}, "max_bytes"),
        (_nested(LIMITS.max_depth), "max_depth"),
        (_nested(10_000), "max_depth"),  # past orjson's own 255 and the interpreter's recursion limit
        ({"kind": "c", "criteria": {"$or": [{"a": 1}] * (LIMITS.max_alternatives + 1)}}, "max_alternatives"),
        # alternatives count across the whole query, nested $or and include included
        (
            {
                "kind": "c",
                "criteria": {"$or": [{"$or": [{"a": 1}] * 100}] * 2},
                "include": [{"kind": "d", "criteria": {"$or": [{"b": 2}] * 100}}],
            },
            "max_alternatives",
        ),
    ],
    ids=["size", "depth", "very deep", "alternatives", "alternatives summed"],
)
def test_limits_refuse_with_the_limit_named(query: dict[str, Any], limit: str) -> None:
    with pytest.raises(StellarError, match=limit):
        check_limits(query)


def test_limits_pass_a_query_just_inside_them() -> None:
    check_limits(_nested(LIMITS.max_depth // 2 - 2))
    check_limits({"kind": "c", "criteria": {"$or": [{"a": i} for i in range(LIMITS.max_alternatives)]}})
    with pytest.raises(StellarError, match="max_alternatives"):
        check_limits({"kind": "c", "criteria": {"$or": [{"a": 1}, {"a": 2}]}}, Limits(max_alternatives=1))


def test_an_unencodable_query_is_a_stellar_error() -> None:
    with pytest.raises(StellarError, match="cannot be encoded"):
        check_limits({"kind": "c", "criteria": {"n": 2**70}})
