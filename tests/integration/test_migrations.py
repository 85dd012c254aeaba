"""The one Alembic tree builds every table of every module, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from pingan.assembly import load_modules
from pingan.core.db import Base, make_engine
from pingan.migrations import check, current_revision, head_revision, upgrade


def test_upgrade_to_head_creates_every_table_and_matches_the_models(database_url: str) -> None:
    load_modules()
    upgrade(database_url)
    engine = make_engine(database_url, pooled=False)
    try:
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        check(database_url)  # raises when models and migrations drift
        upgrade(database_url)  # a second upgrade is a no-op
    finally:
        engine.dispose()
