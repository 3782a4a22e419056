"""The server's API keys (`api_keys`): found by name, or by the clear prefix of a secret among the
active ones. Only hashes are stored; hashing and checking secrets stay with the caller."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tunelab.store.db import Store
from tunelab.store.repo import NamedRows
from tunelab.store.tables import ApiKey

_ACTIVE = ApiKey.revoked_at.is_(None)


class ApiKeysRows(NamedRows[ApiKey]):
    def revoke(self, store: Store, name: str, at: datetime) -> ApiKey | None:
        """Mark the active key `name` revoked at `at`; None when there is no such active key."""
        with store.session(immediate=True) as s:
            row = s.scalar(select(ApiKey).where(ApiKey.name == name, _ACTIVE))
            if row is not None:
                row.revoked_at = at
            return row

    def any_active(self, store: Store) -> bool:
        with store.session() as s:
            return s.scalar(select(ApiKey.id).where(_ACTIVE).limit(1)) is not None

    def active_with_prefix(self, store: Store, prefix: str) -> list[ApiKey]:
        with store.session() as s:
            return list(s.scalars(select(ApiKey).where(ApiKey.prefix == prefix, _ACTIVE)))


API_KEYS = ApiKeysRows(ApiKey, "key")
