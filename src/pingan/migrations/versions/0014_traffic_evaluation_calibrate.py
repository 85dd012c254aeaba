"""traffic: an evaluation may skip the calibration of Pingan's cycle

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 00:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("traffic_evaluations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("calibrate", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("traffic_evaluations", schema=None) as batch_op:
        batch_op.drop_column("calibrate")
