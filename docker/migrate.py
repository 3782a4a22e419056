"""The store's schema, for deploys: `python docker/migrate.py [upgrade | current | downgrade REVISION]`.

upgrade (the default) brings the database at TUNELAB_DATABASE_URL to the newest Alembic revision this
image knows, the way every TuneLab process does on opening the store (`Store.upgrade`: under a
PostgreSQL advisory lock, so concurrent starts take turns); compose.yaml's `migrate` service runs it
once before the server and the worker start. current prints the database's revision and this
image's head. downgrade REVISION undoes the newer revisions (docs/deploy.md, rolling back an image
across a migration): run it with the NEWER image, which has the downgrade steps; what those
revisions added (tables, columns) is dropped with its data.
"""

from __future__ import annotations

import sys

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.store.db import alembic_config


def current(store: Store) -> tuple[str | None, str]:
    with store.engine.connect() as conn:
        at = MigrationContext.configure(conn).get_current_revision()
    return at, ScriptDirectory.from_config(alembic_config(store.url)).get_current_head()


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "upgrade"
    if action not in ("upgrade", "current", "downgrade") or (action == "downgrade") != (len(argv) == 2) \
            or len(argv) > 2:
        print("usage: python docker/migrate.py [upgrade | current | downgrade REVISION]", file=sys.stderr)
        return 2
    store = Store(Settings(), migrate=action == "upgrade")
    try:
        if action == "downgrade":
            cfg = alembic_config(store.url)
            with store.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, argv[1])
        at, head = current(store)
        print(f"store at revision {at} (this image's head: {head})")
    finally:
        store.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
