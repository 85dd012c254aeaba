"""Alembic environment: every module's models in one metadata."""

from __future__ import annotations

from alembic import context

from pingan.assembly import load_modules
from pingan.core.db import Base, make_engine

load_modules()
target_metadata = Base.metadata
config = context.config


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over a live connection (batch mode so SQLite can alter tables)."""
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url, pooled=False)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
