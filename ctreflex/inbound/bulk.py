"""Bulk INSERTs for the fast path: on SQLite one executemany of plain tuples by the driver,
new ids read back from last_insert_rowid; elsewhere Core's INSERT ... RETURNING.

Why: SQLAlchemy cannot keep RETURNING rows in parameter order on SQLite (no insert sentinel
for an INTEGER PRIMARY KEY there), so `insert().returning(..., sort_by_parameter_order=True)`
ran one INSERT per row, each through the compiled statement's bind processing. Inside the
processor's write transaction this connection is SQLite's only writer, so the rows of one
executemany take consecutive ids after the current largest; that is checked (the first id
before, last_insert_rowid() after) and anything else raises, which rolls the fast path's
savepoint back (the per-event path then takes those events). The values are bound with the
columns' own bind processors (UTCDateTime, Date): the same text SQLAlchemy stores.

Buys: see docs/PERFORMANCE.md, "Issue 17". Guarded by tests/unit/test_ingest.py
(test_fast_path_gives_the_same_rows_as_the_per_event_path, both databases) and
tests/unit/test_inbound_bulk.py (ids in row order, stored text the ORM's).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter

from sqlalchemy import Connection, Table


def insert_rows(conn: Connection, table: Table, rows: list[dict], *,
                returning_ids: bool = False) -> list[int]:
    """INSERT `rows` (dicts with the same keys) into `table`; their new ids in row order when
    `returning_ids`, else []."""
    if not rows:
        return []
    dialect = conn.dialect
    if dialect.name != "sqlite":
        if returning_ids:
            stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
            return list(conn.execute(stmt, rows).scalars().all())
        conn.execute(table.insert(), rows)
        return []
    given = list(rows[0])
    defaults = _defaults(table, given)  # what Core would fill in for the columns not given
    names = given + list(defaults)
    get = itemgetter(*given) if len(given) > 1 else (lambda row: (row[given[0]],))
    convert = [(i, p) for i, p in enumerate(_processor(table, n, dialect) for n in names) if p]
    memo: list[dict] = [{} for _ in convert]  # a burst shares its times (and `now`)
    params = []
    for row in rows:
        values = [*get(row), *defaults.values()]
        for (i, process), seen in zip(convert, memo, strict=True):  # as Core binds them
            value = values[i]  # (None included: JSON's null)
            if isinstance(value, (dict, list)):
                values[i] = process(value)
            elif value in seen:
                values[i] = seen[value]
            else:
                values[i] = seen[value] = process(value)
        params.append(tuple(values))
    sql = (f"INSERT INTO {table.name} ({', '.join(names)}) "
           f"VALUES ({', '.join('?' * len(names))})")
    if not returning_ids:
        conn.exec_driver_sql(sql, params)
        return []
    first = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table.name}").scalar()
    conn.exec_driver_sql(sql, params)
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar()
    if last != first + len(params) - 1:
        raise RuntimeError(f"{table.name} ids not consecutive: {first}..{last}")
    return list(range(first, last + 1))


def insert_messages(conn: Connection, table: Table, rows: list[dict]) -> list[int]:
    """INSERT the fast path's messages (`table` is message's); their ids in row order. On
    SQLite the message-text index (FTS5 `message_fts`) takes them in one INSERT ... SELECT
    instead of one trigger run per row, a quarter of the CPU: the row in `message_fts_deferred`
    (migration a11c0e000014) makes the trigger skip them, in this transaction only (it is gone
    before the commit; a failure rolls both back)."""
    if conn.dialect.name != "sqlite" or not rows:
        return insert_rows(conn, table, rows, returning_ids=True)
    conn.exec_driver_sql("INSERT INTO message_fts_deferred (id) VALUES (1)")
    ids = insert_rows(conn, table, rows, returning_ids=True)
    conn.exec_driver_sql(
        "INSERT INTO message_fts (rowid, body) SELECT id, body FROM message"
        " WHERE id BETWEEN ? AND ?",
        (ids[0], ids[-1]),
    )
    conn.exec_driver_sql("DELETE FROM message_fts_deferred")
    return ids


_PROCESSORS: dict[tuple[str, str, str], Callable | None] = {}


def _processor(table: Table, name: str, dialect) -> Callable | None:
    """The column's bind processor on this dialect (None: the driver takes the value as is)."""
    key = (table.name, name, dialect.name)
    if key not in _PROCESSORS:
        _PROCESSORS[key] = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    return _PROCESSORS[key]


def _defaults(table: Table, given: list[str]) -> dict[str, object]:
    """The Python-side defaults of the columns not in `given` (SQLModel makes a Field's default
    the column's): Core's insert binds them, so the driver's must too. A column whose default
    is computed per row must be given."""
    out: dict[str, object] = {}
    for column in table.columns:
        if column.name in given or column.default is None or column.primary_key:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.name}: give it (its default is computed)")
        out[column.name] = column.default.arg
    return out
