"""Generic repositories: `Rows` reads and writes one table by primary key; `NamedRows` adds the
registry shape (names, list, find, add, remove) for a table with a unique `name`. Each call is one
transaction through `Store.session()` and returns detached rows, readable after it ends. A call
that reads and then writes takes the write lock first (`immediate`): on SQLite a deferred
transaction that read before another process wrote cannot write any more ("database is locked"
at once, whatever busy_timeout says), and a worker, its jobs and the server write side by side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from tunelab.store.db import Store
from tunelab.store.errors import NameTakenError
from tunelab.store.tables import Base

R = TypeVar("R", bound=Base)


def assign(row: Base, values: dict[str, Any]) -> None:
    for column, value in values.items():
        setattr(row, column, value)


class Rows(Generic[R]):
    """The rows of `table`, by primary key."""

    def __init__(self, table: type[R]) -> None:
        self.table = table
        self.key_column = inspect(table).primary_key[0]

    def by_key(self, store: Store, key: Any) -> R | None:
        with store.session() as s:
            return s.get(self.table, key)

    def insert(self, store: Store, **values: Any) -> R:
        row = self.table(**values)
        with store.session() as s:
            s.add(row)
        return row

    def update(self, store: Store, key: Any, **values: Any) -> R | None:
        """Set `values` on row `key`; None, and nothing written, when there is no such row."""
        with store.session(immediate=True) as s:
            row = s.get(self.table, key)
            if row is not None:
                assign(row, values)
            return row

    def upsert(self, store: Store, key: Any, **values: Any) -> R:
        """Set `values` on row `key`, inserting it first when there is none."""
        with store.session(immediate=True) as s:
            row = s.get(self.table, key)
            if row is None:
                row = self.table(**{self.key_column.key: key})
                s.add(row)
            assign(row, values)
            return row

    def newest_first(self, store: Store, *, limit: int | None = None, **equal: Any) -> list[R]:
        """Rows whose columns equal `equal` (a None value filters nothing), newest first (ties: the
        larger key first), at most `limit`."""
        query = select(self.table).order_by(self.table.created_at.desc(), self.key_column.desc())
        for column, value in equal.items():
            if value is not None:
                query = query.where(getattr(self.table, column) == value)
        if limit:
            query = query.limit(limit)
        with store.session() as s:
            return list(s.scalars(query))


class NamedRows(Rows[R]):
    """The rows of a registry table: unique `name`; `kind` names what a row is in errors ("adapter")."""

    def __init__(self, table: type[R], kind: str) -> None:
        super().__init__(table)
        self.kind = kind

    def _named(self, name: str):
        return select(self.table).where(self.table.name == name)

    def names(self, store: Store) -> list[str]:
        with store.session() as s:
            return list(s.scalars(select(self.table.name).order_by(self.table.name)))

    def all(self, store: Store) -> list[R]:
        """Every row, by name."""
        with store.session() as s:
            return list(s.scalars(select(self.table).order_by(self.table.name)))

    def find(self, store: Store, name: str) -> R | None:
        with store.session() as s:
            return s.scalar(self._named(name))

    def exists(self, store: Store, name: str) -> bool:
        with store.session() as s:
            return s.scalar(select(self.table.name).where(self.table.name == name)) is not None

    def add(self, store: Store, *, replace: Callable[[R], bool] | None = None,
            while_claimed: Callable[[], None] | None = None, **values: Any) -> R:
        """Insert a row named `values["name"]`; NameTakenError when the name is taken, unless
        `replace(row holding it)` is true: that row is deleted in the same transaction.
        `while_claimed` runs once the new row holds the name and before it commits: what it
        writes elsewhere (a file) can follow the name, and a failure there undoes the row."""
        row = self.table(**values)
        try:
            with store.session(immediate=True) as s:
                if replace is not None:
                    old = s.scalar(self._named(values["name"]))
                    if old is not None and not replace(old):
                        raise NameTakenError(values["name"], self.kind)
                    if old is not None:
                        s.delete(old)
                        s.flush()  # the old row lets go of the unique name before the new one takes it
                s.add(row)
                s.flush()
                if while_claimed is not None:
                    while_claimed()
        except IntegrityError:  # the unique name: another process added it since any check the caller made
            raise NameTakenError(values["name"], self.kind) from None
        return row

    def remove(self, store: Store, name: str) -> R | None:
        """Delete the row named `name` and return it; None when there is none."""
        with store.session(immediate=True) as s:
            row = s.scalar(self._named(name))
            if row is not None:
                s.delete(row)
            return row
