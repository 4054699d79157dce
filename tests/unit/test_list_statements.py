"""The workflow list's statements are made of fixed blocks picked by key: input is only ever a parameter."""

from __future__ import annotations

import itertools

import pytest

from engine.store.queries import for_schema
from engine.store.reads import DEFAULT_SORT, FILTERS, SORTS, filter_params, like_prefix, list_statement

STATEMENTS = for_schema("durable")


def test_no_filter_is_no_condition() -> None:
    assert filter_params(None, None, None) == {}
    assert filter_params("", "", "") == {}
    query = list_statement(STATEMENTS, "workflow_count_head", {})
    assert query == STATEMENTS["workflow_count_head"]


@pytest.mark.parametrize("combo", [c for n in range(len(FILTERS) + 1) for c in itertools.combinations(FILTERS, n)])
@pytest.mark.parametrize("sort", SORTS)
def test_each_filter_and_sort_adds_its_own_block(combo: tuple[str, ...], sort: str) -> None:
    params = filter_params(*(f"v_{key}" if key in combo else None for key in FILTERS))
    assert sorted(params) == sorted(combo)
    query = list_statement(STATEMENTS, "workflow_summaries_head", params, sort, "workflow_page")
    for key in FILTERS:
        assert (STATEMENTS[f"workflow_filter_{key}"] in query) == (key in combo)
        assert (f"%({key})s" in query) == (key in combo)
    assert query.endswith(STATEMENTS[f"workflow_sort_{sort}"] + "\n" + STATEMENTS["workflow_page"])
    assert query is list_statement(STATEMENTS, "workflow_summaries_head", params, sort, "workflow_page")


def test_input_never_reaches_the_statement_text() -> None:
    hostile = "x'; DROP TABLE durable.workflows; --"
    params = filter_params(hostile, hostile, hostile)
    query = list_statement(STATEMENTS, "workflow_summaries_head", params, hostile, "workflow_page")
    assert "DROP" not in query
    assert query.endswith(STATEMENTS[f"workflow_sort_{DEFAULT_SORT}"] + "\n" + STATEMENTS["workflow_page"])
    assert params == {"status": hostile, "name": hostile, "id_prefix": like_prefix(hostile)}


def test_an_id_prefix_matches_its_own_wildcards_literally() -> None:
    assert like_prefix("order_1") == "order\\_1%"
    assert like_prefix("50%") == "50\\%%"
    assert like_prefix("a\\b") == "a\\\\b%"


def test_bulk_batches_are_filtered_within_the_operation_sources() -> None:
    query = list_statement(STATEMENTS, "ids_matching_head", {"name": "n"}, "created_asc", "workflow_limit")
    assert "w.status = ANY(%(sources)s)" in query and "%(name)s" in query and query.endswith("LIMIT %(limit)s")


@pytest.mark.parametrize("sort", SORTS)
def test_a_page_picks_its_rows_before_the_joins_and_keeps_their_order(sort: str) -> None:
    tail = "workflow_summaries_tail"
    query = list_statement(STATEMENTS, "workflow_summaries_head", {"status": "x"}, sort, "workflow_page", tail)
    order = STATEMENTS[f"workflow_sort_{sort}"]
    inner, outer = query.split(STATEMENTS[tail])
    assert inner.endswith(order + "\n" + STATEMENTS["workflow_page"] + "\n")
    assert outer == "\n" + order and "JOIN" not in inner and "JOIN LATERAL" in STATEMENTS[tail]
