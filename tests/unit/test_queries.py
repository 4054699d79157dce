"""The query loader: every named statement parses, is described, and binds to a schema completely."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.store import queries
from engine.store.queries import PLACEHOLDER, QueryError, Statements, bind, for_schema, load, parse, plain

STORE = Path(queries.__file__).parent
ROOT = STORE.parent.parent


def test_every_sql_file_is_loaded_and_shipped() -> None:
    assert sorted(p.stem for p in (STORE / "sql").glob("*.sql")) == sorted(queries.FILES)
    assert '"engine.store" = ["sql/*.sql"]' in (ROOT / "pyproject.toml").read_text()


def test_every_query_has_a_name_a_description_and_a_statement() -> None:
    blocks = load()
    assert len(blocks) > 40
    for name, query in blocks.items():
        assert query.name == name
        assert query.description and not query.description.startswith("-")
        assert query.text.strip() and not query.text.startswith("--"), name


def test_every_query_binds_with_no_placeholder_left() -> None:
    statements = Statements("some_schema")
    for name in statements.names():
        text = statements[name]
        assert not PLACEHOLDER.search(text), f"{name}: {PLACEHOLDER.search(text)}"
        assert "{" not in text and "}" not in text, name
    assert "some_schema.steps" in statements["record_step"]


def test_shared_predicate_is_spliced_where_it_is_used() -> None:
    statements = for_schema("durable")
    alive = statements["executor_alive"]
    for name in ("claim_dead", "explain_waiting", "ops_state", "requeue_dead", "executors"):
        assert alive in statements[name], name
    assert sum("heartbeat_at >" in q.text for q in load().values()) == 1


def test_statements_are_bound_once_per_schema() -> None:
    assert for_schema("durable") is for_schema("durable")
    assert for_schema("durable") is not for_schema("other")


@pytest.mark.parametrize("schema", ["Durable", "a-b", "x; DROP TABLE y", "", "1abc"])
def test_a_schema_that_is_not_a_plain_identifier_is_refused(schema: str) -> None:
    with pytest.raises(ValueError, match="schema name"):
        Statements(schema)


def test_plain_statements_need_no_schema_and_others_refuse_to_bind_without_one() -> None:
    assert plain("ping") == "SELECT 1"
    with pytest.raises(QueryError, match="needs a schema"):
        plain("heartbeat")


def test_the_block_format_is_enforced() -> None:
    good = parse("-- header\n\n-- name: a\n-- What a does.\nSELECT 1\n\n-- name: b\n-- B.\nSELECT {a}\n", "x.sql")
    assert good["a"].description == "What a does." and good["a"].text == "SELECT 1"
    assert bind(good["b"].text, "s", good) == "SELECT SELECT 1"
    with pytest.raises(QueryError, match="before the first"):
        parse("SELECT 1\n-- name: a\n-- A.\nSELECT 1", "x.sql")
    with pytest.raises(QueryError, match="description"):
        parse("-- name: a\nSELECT 1", "x.sql")
    with pytest.raises(QueryError, match="empty"):
        parse("-- name: a\n-- A.\n", "x.sql")
    with pytest.raises(QueryError, match="twice"):
        parse("-- name: a\n-- A.\nSELECT 1\n-- name: a\n-- A.\nSELECT 2", "x.sql")
    with pytest.raises(QueryError, match="names no query"):
        bind("SELECT {nothing}", "s", good)
    with pytest.raises(QueryError, match="deeper"):
        bind("{loop}", "s", parse("-- name: loop\n-- L.\n{loop}", "x.sql"))


def test_every_statement_the_store_names_exists() -> None:
    """A typo in a statement name fails here, not in production."""
    names = set(load())
    used: set[str] = set()
    for module in STORE.glob("*.py"):
        source = module.read_text()
        used |= set(re.findall(r'(?:sql|statements|\))\["([a-z_]+)"\]', source))
        used |= set(re.findall(r'plain\("([a-z_]+)"\)', source))
        used |= set(re.findall(r'"([a-z_]+_head)"', source))
    assert len(used) > 40
    assert used <= names, used - names
