import pytest

from phresh.kit.repository import SqlBuilder


def test_parameters_are_numbered_after_those_given() -> None:
    query = SqlBuilder(7)

    assert query.param("a") == "$2"
    assert query.param("b") == "$3"
    assert query.params == [7, "a", "b"]


def test_assignments_set_each_change_as_a_parameter() -> None:
    query = SqlBuilder(7)

    sql = query.assignments({"name": "x", "price": 5}, frozenset({"name", "price", "bio"}))

    assert sql == "name = $2, price = $3"
    assert query.params == [7, "x", 5]


def test_assignments_refuse_a_column_not_allowed() -> None:
    # Keys are spliced into the SQL as column names: nothing outside the list may get there.
    query = SqlBuilder()

    with pytest.raises(ValueError, match="owner_id"):
        query.assignments({"name": "x", "owner_id": 1}, frozenset({"name"}))
    assert query.params == []


def test_a_row_of_parameters_is_one_position_of_a_row_comparison() -> None:
    query = SqlBuilder(7)

    assert query.row("2026-01-01", 5) == "($2, $3)"
    assert query.params == [7, "2026-01-01", 5]
