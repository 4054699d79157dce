"""Named SQL statements: parsed once from the `.sql` files beside this module, bound once per schema.

Every statement of the store lives in `engine/store/sql/*.sql` as a block::

    -- name: record_step
    -- One attempt's outcome: upsert the step row, insert the attempt row (one round trip).
    WITH s AS (INSERT INTO {schema}.steps ...)

A name line, then exactly one description line, then the statement. Two placeholders exist, both bound
when a schema's statements are built (once per schema, by `for_schema`), never at call time:

- `{schema}`: the schema name, validated by `migrations.check_schema_name` (a plain lower-case
  identifier), so it can be written into the text as it is.
- `{<block name>}`: the text of another block, spliced in. Predicates said in many statements are written
  once this way (`{executor_alive}`).

Values always travel as parameters (`%s`, `%(name)s`). The schema is written into each statement rather
than set through `search_path` on purpose: a user's `@transaction` gets `db()`, a connection of our pool,
and a search_path of ours would make the user's unqualified table names resolve into our schema first.

Statements whose shape varies (the workflow list's filters and sort) are concatenations of fixed blocks,
chosen by key (`compose`), never text made from input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from engine.store.names import check_schema_name

FILES = (
    "runtime",
    "reads",
    "ops",
    "session",
    "schema",
    "queues",
    "deadlines",
    "schedules",
    "messages",
    "retention",
    "counts",
)
NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
MAX_DEPTH = 4


class QueryError(ValueError):
    """A `.sql` file breaks the block format, or a statement names a placeholder that does not exist."""


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    text: str
    source: str


def parse(text: str, source: str) -> dict[str, Query]:
    """The blocks of one file, by name. Lines before the first `-- name:` must be comments or blank."""
    blocks: dict[str, Query] = {}
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is None:
            return
        if not lines or not lines[0].startswith("--"):
            raise QueryError(f"{source}: query {name!r} needs a one-line `-- description` under its name")
        description = lines[0].lstrip("-").strip()
        body = "\n".join(lines[1:]).strip()
        if not description or not body:
            raise QueryError(f"{source}: query {name!r} has an empty description or statement")
        if name in blocks:
            raise QueryError(f"{source}: query {name!r} is defined twice")
        blocks[name] = Query(name, description, body, source)

    for number, line in enumerate(text.splitlines(), 1):
        match = NAME_LINE.match(line)
        if match:
            close()
            name, lines = match.group(1), []
        elif name is not None:
            lines.append(line)
        elif line.strip() and not line.startswith("--"):
            raise QueryError(f"{source}:{number}: text before the first `-- name:` line")
    close()
    return blocks


@cache
def load() -> dict[str, Query]:
    """Every block of every file, by name (names are unique across files). Read once per process."""
    found: dict[str, Query] = {}
    folder = resources.files("engine.store").joinpath("sql")
    for stem in FILES:
        source = f"{stem}.sql"
        for name, query in parse(folder.joinpath(source).read_text(encoding="utf-8"), source).items():
            if name in found:
                raise QueryError(f"query {name!r} is defined in {found[name].source} and {source}")
            found[name] = query
    return found


def bind(text: str, schema: str | None, blocks: dict[str, Query], depth: int = 0) -> str:
    """`text` with `{schema}` and every `{block}` replaced; an unknown placeholder is an error."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "schema":
            if schema is None:
                raise QueryError("this statement needs a schema: use for_schema(schema)")
            return schema
        if key not in blocks:
            raise QueryError(f"placeholder {{{key}}} names no query block")
        if depth >= MAX_DEPTH:
            raise QueryError(f"placeholder {{{key}}} nests deeper than {MAX_DEPTH} levels")
        return bind(blocks[key].text, schema, blocks, depth + 1)

    return PLACEHOLDER.sub(replace, text)


class Statements:
    """The statements of one schema, bound: `statements["record_step"]` is ready to execute."""

    def __init__(self, schema: str):
        self.schema = check_schema_name(schema)
        blocks = load()
        self._text = {name: bind(q.text, self.schema, blocks) for name, q in blocks.items()}
        self._composed: dict[tuple[str, ...], str] = {}

    def __getitem__(self, name: str) -> str:
        return self._text[name]

    def __contains__(self, name: object) -> bool:
        return name in self._text

    def names(self) -> list[str]:
        return sorted(self._text)

    def compose(self, *names: str) -> str:
        """Fixed blocks joined in order (a statement's head, filters, sort, page), cached by their names."""
        text = self._composed.get(names)
        if text is None:
            text = self._composed[names] = "\n".join(self._text[n] for n in names)
        return text


@cache
def plain(name: str) -> str:
    """A statement that names no schema (`SELECT 1`, `SET TRANSACTION ...`), bound once."""
    return bind(load()[name].text, None, load())


@cache
def for_schema(schema: str) -> Statements:
    """The bound statements of `schema`: built once per schema and process, then shared."""
    return Statements(schema)
