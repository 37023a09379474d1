"""``central.db.in_list``: a list of values as named parameters for ``IN (...)``, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from central.db import Database, in_list


@pytest.mark.parametrize(
    ("values", "marks", "params"),
    [
        ([], "NULL", {}),
        (["a"], ":k0", {"k0": "a"}),
        ((7, 8, 9), ":k0, :k1, :k2", {"k0": 7, "k1": 8, "k2": 9}),
    ],
)
def test_in_list(values: Any, marks: str, params: dict[str, Any]) -> None:
    assert in_list("k", values) == (marks, params)


@pytest.mark.parametrize(
    ("values", "found"), [([], []), (["ana"], ["ana"]), (["ana", "nadie", "beto"], ["ana", "beto"])]
)
def test_an_in_list_selects_what_it_names_and_an_empty_one_nothing(
    db: Database, values: list[str], found: list[str]
) -> None:
    with db.transaction() as conn:
        for name in ("ana", "beto", "carla"):
            conn.execute(
                "INSERT INTO users (username, password_hash, created_at) VALUES (:u, 'x', CURRENT_TIMESTAMP)",
                {"u": name},
            )
        marks, params = in_list("u", values)
        rows = conn.fetchall(f"SELECT username FROM users WHERE username IN ({marks}) ORDER BY username", params)
    assert [row["username"] for row in rows] == found
