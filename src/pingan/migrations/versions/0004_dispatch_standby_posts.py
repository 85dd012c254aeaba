"""dispatch standby posts (move-up): dispatch_standby_posts, dispatch_units.standby_node/since

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 11:52:27.227980
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatch_standby_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("node", sa.Integer(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("planned_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_dispatch_standby_posts_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_standby_posts")),
    )
    with op.batch_alter_table("dispatch_standby_posts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispatch_standby_posts_city_id"), ["city_id"], unique=False
        )

    with op.batch_alter_table("dispatch_units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("standby_node", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("standby_since", pingan.core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("dispatch_units", schema=None) as batch_op:
        batch_op.drop_column("standby_since")
        batch_op.drop_column("standby_node")

    with op.batch_alter_table("dispatch_standby_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_standby_posts_city_id"))

    op.drop_table("dispatch_standby_posts")
