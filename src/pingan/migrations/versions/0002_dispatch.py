"""dispatch: units, incidents, assignments (one active per unit), status timeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pingan.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatch_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("node", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("call_text", sa.Text(), nullable=False),
        sa.Column("caller_phone", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("call_type", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("police", sa.Boolean(), nullable=False),
        sa.Column("unclear", sa.Boolean(), nullable=False),
        sa.Column("triage_reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("duplicates", sa.JSON(), nullable=False),
        sa.Column("received_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_arrival_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recommendation", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_dispatch_incidents_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_dispatch_incidents_district_id_districts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["dispatch_incidents.id"],
            name=op.f("fk_dispatch_incidents_duplicate_of_dispatch_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_dispatch_incidents_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_incidents")),
    )
    with op.batch_alter_table("dispatch_incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispatch_incidents_city_id"), ["city_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dispatch_incidents_jurisdiction_id"), ["jurisdiction_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dispatch_incidents_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dispatch_incidents_status"), ["status"], unique=False)

    op.create_table(
        "dispatch_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("callsign", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=True),
        sa.Column("home_lon", sa.Float(), nullable=False),
        sa.Column("home_lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("position_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("node", sa.Integer(), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("endurance_min", sa.Float(), nullable=True),
        sa.Column("coverage_m", sa.Float(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_dispatch_units_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["dispatch_incidents.id"],
            name=op.f("fk_dispatch_units_incident_id_dispatch_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_dispatch_units_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_units")),
        sa.UniqueConstraint("callsign", name=op.f("uq_dispatch_units_callsign")),
    )
    with op.batch_alter_table("dispatch_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispatch_units_city_id"), ["city_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dispatch_units_jurisdiction_id"), ["jurisdiction_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dispatch_units_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispatch_units_status"), ["status"], unique=False)

    op.create_table(
        "dispatch_incident_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("dispatched_at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", pingan.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["dispatch_incidents.id"],
            name=op.f("fk_dispatch_incident_units_incident_id_dispatch_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["dispatch_units.id"],
            name=op.f("fk_dispatch_incident_units_unit_id_dispatch_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_incident_units")),
    )
    with op.batch_alter_table("dispatch_incident_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispatch_incident_units_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            "uq_dispatch_incident_units_active_unit",
            ["unit_id"],
            unique=True,
            sqlite_where=sa.text("cleared_at IS NULL"),
            postgresql_where=sa.text("cleared_at IS NULL"),
        )

    op.create_table(
        "dispatch_unit_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("at", pingan.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["dispatch_incidents.id"],
            name=op.f("fk_dispatch_unit_status_changes_incident_id_dispatch_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["dispatch_units.id"],
            name=op.f("fk_dispatch_unit_status_changes_unit_id_dispatch_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_unit_status_changes")),
    )
    with op.batch_alter_table("dispatch_unit_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispatch_unit_status_changes_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dispatch_unit_status_changes_unit_id"), ["unit_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dispatch_unit_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_unit_status_changes_unit_id"))
        batch_op.drop_index(batch_op.f("ix_dispatch_unit_status_changes_incident_id"))

    op.drop_table("dispatch_unit_status_changes")
    with op.batch_alter_table("dispatch_incident_units", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_dispatch_incident_units_active_unit",
            sqlite_where=sa.text("cleared_at IS NULL"),
            postgresql_where=sa.text("cleared_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_dispatch_incident_units_incident_id"))

    op.drop_table("dispatch_incident_units")
    with op.batch_alter_table("dispatch_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_units_status"))
        batch_op.drop_index(batch_op.f("ix_dispatch_units_kind"))
        batch_op.drop_index(batch_op.f("ix_dispatch_units_jurisdiction_id"))
        batch_op.drop_index(batch_op.f("ix_dispatch_units_city_id"))

    op.drop_table("dispatch_units")
    with op.batch_alter_table("dispatch_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_incidents_status"))
        batch_op.drop_index(batch_op.f("ix_dispatch_incidents_received_at"))
        batch_op.drop_index(batch_op.f("ix_dispatch_incidents_jurisdiction_id"))
        batch_op.drop_index(batch_op.f("ix_dispatch_incidents_city_id"))

    op.drop_table("dispatch_incidents")
