"""traffic: an evaluation may name a stored plan

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 19:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("traffic_evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_traffic_evaluations_plan_id"), ["plan_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_traffic_evaluations_plan_id_traffic_plans"),
            "traffic_plans",
            ["plan_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("traffic_evaluations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_traffic_evaluations_plan_id_traffic_plans"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_traffic_evaluations_plan_id"))
        batch_op.drop_column("plan_id")
