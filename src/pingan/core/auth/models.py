"""Tables of identity and access: users, jurisdictions, API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.core.clock import now
from pingan.core.db import Base, UTCDateTime


class Jurisdiction(Base):
    """A place of responsibility (辖区): a city, a district (分局) or a station (派出所).

    Hierarchical: a user assigned to a district sees everything in its stations.
    ``path`` is the materialised chain of codes (``/hel/kamppi/``) so "this and
    everything below it" is one prefix query.
    """

    __tablename__ = "jurisdictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))  # city | district | station
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"), default=None)
    path: Mapped[str] = mapped_column(String(1000), index=True)
    city_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)

    parent: Mapped[Jurisdiction | None] = relationship(remote_side="Jurisdiction.id")


class User(Base):
    """A person who signs in: police staff, partner staff, auditors."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    jurisdictions: Mapped[list[UserJurisdiction]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class UserJurisdiction(Base):
    """Which jurisdictions a user works in (and so may see)."""

    __tablename__ = "user_jurisdictions"
    __table_args__ = (UniqueConstraint("user_id", "jurisdiction_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="joined")


class ApiKey(Base):
    """A partner system's key (bank, relying party, linked department).

    Only a SHA-256 hash of the secret is kept; ``prefix`` identifies the key in logs.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    partner: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None
    )
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
