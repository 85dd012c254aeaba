"""The audit trail (审计日志): append-only, hash-chained records of who did what, when and why.

Every write, every login and every read of unmasked personal data appends one
:class:`AuditRecord` in the same transaction as the change it describes, so a change
without its record (or a record without its change) cannot be committed.

**The chain.** Row ``n`` stores ``prev_hash`` = the hash of row ``n - 1`` (64 zeros for
row 1) and ``hash = sha256(prev_hash + canonical JSON of its own fields, id
included)``. Ids are assigned by :func:`record` as ``last id + 1`` while holding the
chain's lock, not by a sequence, so a rolled-back transaction leaves no gap and every
gap means a deleted row. :func:`verify_chain` walks the rows in id order and reports the
first broken link: a missing id (rows deleted), a ``prev_hash`` that does not match the
previous row (a row before it deleted or re-hashed), or a row whose content no longer
matches its hash (edited). Cutting rows off the *end* leaves a valid shorter chain;
note the head hash that ``pingan audit verify`` prints and pass it back as
``--anchor`` to detect that too.

**One chain under concurrent writers.** On PostgreSQL :func:`record` takes a
transaction-level advisory lock (``pg_advisory_xact_lock``) before reading the tail,
held until commit or rollback (needs READ COMMITTED, the default isolation). SQLite
has a single writer; :func:`record` makes sure its transaction holds the write lock
before reading the tail. Unique constraints on ``prev_hash`` and ``hash`` refuse a
fork even if both of those were bypassed.

**Append-only.** Triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL); they
are created with the table (``after_create``) and by the Alembic migration from
:func:`append_only_statements`. A database superuser can still drop them — that is what
the hash chain is for.

Times are **wall-clock** UTC, not :mod:`pingan.core.clock`: the trail records when
people really acted, also while the demo simulator runs its own clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import JSON, Integer, String, Text, event, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.schema import Table

from pingan.core.auth.permissions import Principal
from pingan.core.db import Base, UTCDateTime
from pingan.core.errors import ValidationFailed
from pingan.core.i18n import register_catalogue, translate

# The messages of auth, audit and privacy, also for callers that assemble no module (workers).
register_catalogue(Path(__file__).parent / "auth" / "locales")

GENESIS_HASH: Final = "0" * 64
ADVISORY_LOCK_KEY: Final = 0x70696E67616E01  # "pingan" + 1: the audit chain's lock

CREATE: Final = "create"
UPDATE: Final = "update"
DELETE: Final = "delete"
REVOKE: Final = "revoke"
READ_PERSONAL: Final = "read_personal"
LOGIN: Final = "login"
LOGIN_FAILED: Final = "login_failed"


class AuditRecord(Base):
    """One entry of the audit trail: who (actor, roles, ip), what, when, why."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    actor_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(100), index=True)
    entity_id: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# ---------------------------------------------------------------------------- append-only

_SQLITE_APPEND_ONLY: Final = [
    "CREATE TRIGGER IF NOT EXISTS audit_records_no_update BEFORE UPDATE ON audit_records "
    "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records "
    "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END",
]
_POSTGRES_APPEND_ONLY: Final = [
    "CREATE OR REPLACE FUNCTION pingan_audit_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'audit_records is append-only' USING ERRCODE = 'insufficient_privilege'; "
    "END; $$",
    "DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records",
    "CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records "
    "FOR EACH ROW EXECUTE FUNCTION pingan_audit_append_only()",
    "DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records",
    "CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records "
    "FOR EACH STATEMENT EXECUTE FUNCTION pingan_audit_append_only()",
]
_SQLITE_REMOVE: Final = [
    "DROP TRIGGER IF EXISTS audit_records_no_update",
    "DROP TRIGGER IF EXISTS audit_records_no_delete",
]
_POSTGRES_REMOVE: Final = [
    "DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records",
    "DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records",
]


def append_only_statements(dialect: str) -> list[str]:
    """SQL that makes ``audit_records`` refuse UPDATE/DELETE (for the Alembic migration)."""
    if dialect == "postgresql":
        return list(_POSTGRES_APPEND_ONLY)
    if dialect == "sqlite":
        return list(_SQLITE_APPEND_ONLY)
    raise ValueError(f"dialect: no append-only triggers for {dialect!r}")


def remove_append_only_statements(dialect: str) -> list[str]:
    """SQL that drops the append-only triggers (downgrades; tamper simulations in tests)."""
    if dialect == "postgresql":
        return list(_POSTGRES_REMOVE)
    if dialect == "sqlite":
        return list(_SQLITE_REMOVE)
    raise ValueError(f"dialect: no append-only triggers for {dialect!r}")


def install_append_only(connection: Connection) -> None:
    """Create the append-only triggers on ``connection``'s database."""
    for statement in append_only_statements(connection.dialect.name):
        connection.execute(text(statement))


@event.listens_for(AuditRecord.__table__, "after_create")
def _after_create(target: Table, connection: Connection, **_kw: Any) -> None:
    install_append_only(connection)


# ---------------------------------------------------------------------------- hashing


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (what the JSON column will give back)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def canonical_json(fields: dict[str, Any]) -> str:
    """The one byte-exact text of ``fields`` that is hashed."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fields(
    *,
    id: int,
    at: datetime,
    actor: str,
    actor_roles: list[str],
    action: str,
    entity: str,
    entity_id: str,
    reason: str,
    detail: Any,
    ip: str,
) -> dict[str, Any]:
    return {
        "id": id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_roles": list(actor_roles),
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "reason": reason,
        "detail": detail,
        "ip": ip,
    }


def compute_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """sha256 of the previous hash followed by the canonical JSON of the row's fields."""
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def row_hash(row: AuditRecord) -> str:
    """The hash ``row`` should carry given its fields and ``prev_hash``."""
    fields = _fields(
        id=row.id,
        at=_aware(row.at),
        actor=row.actor,
        actor_roles=row.actor_roles or [],
        action=row.action,
        entity=row.entity,
        entity_id=row.entity_id,
        reason=row.reason,
        detail=row.detail,
        ip=row.ip,
    )
    return compute_hash(row.prev_hash, fields)


# ---------------------------------------------------------------------------- writing


def _lock_chain(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement (touching no row, so no trigger fires) makes the driver open
        # the transaction and take SQLite's write lock before the tail is read.
        session.execute(text("UPDATE audit_records SET id = id WHERE 0 = 1"))


@dataclass(frozen=True)
class Entry:
    """One record for :func:`record_many` (the arguments of :func:`record`)."""

    actor: Principal | str
    action: str
    entity: str
    entity_id: object = ""
    reason: str = ""
    detail: dict[str, Any] | None = None
    ip: str | None = None


def _row_values(entry: Entry, row_id: int, prev_hash: str, at: datetime) -> dict[str, Any]:
    """The column values of ``entry`` as row ``row_id`` after ``prev_hash``, hash included."""
    actor, ip = entry.actor, entry.ip
    if isinstance(actor, Principal):
        actor_name, roles, ip = actor.username, sorted(actor.roles), ip or actor.ip
    else:
        actor_name, roles = actor, []
    values: dict[str, Any] = {
        "id": row_id,
        "at": at,
        "actor": actor_name,
        "actor_roles": roles,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": "" if entry.entity_id is None else str(entry.entity_id),
        "reason": entry.reason,
        "detail": _jsonable(entry.detail or {}),
        "ip": ip or "",
    }
    values["prev_hash"] = prev_hash
    values["hash"] = compute_hash(prev_hash, _fields(**{k: values[k] for k in _FIELD_NAMES}))
    return values


_FIELD_NAMES: Final = (
    "id", "at", "actor", "actor_roles", "action", "entity", "entity_id", "reason", "detail", "ip"
)  # fmt: skip


def _tail(session: Session) -> tuple[int, str]:
    """Take the chain's lock and read its last (id, hash)."""
    _lock_chain(session)
    tail = session.execute(
        select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)
    ).first()
    return (tail[0], tail[1]) if tail is not None else (0, GENESIS_HASH)


def record(
    session: Session,
    *,
    actor: Principal | str,
    action: str,
    entity: str,
    entity_id: object = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditRecord:
    """Append an audit record in ``session``'s transaction and return it (flushed)."""
    prev_id, prev_hash = _tail(session)
    # Wall clock on purpose (see the module docstring); microseconds survive both databases.
    entry = Entry(actor, action, entity, entity_id, reason, detail, ip)
    row = AuditRecord(**_row_values(entry, prev_id + 1, prev_hash, datetime.now(UTC)))
    session.add(row)
    session.flush()
    return row


def record_many(session: Session, entries: Sequence[Entry]) -> None:
    """Append ``entries``, in order, in ``session``'s transaction: the chain's lock is
    taken and its tail read once, and the rows go in one executemany (a batch of signals
    raising many warnings pays one round trip, not three per record). Same chain, same
    hashes as that many :func:`record` calls."""
    if not entries:
        return
    prev_id, prev_hash = _tail(session)
    at = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for k, entry in enumerate(entries, start=1):
        rows.append(_row_values(entry, prev_id + k, prev_hash, at))
        prev_hash = rows[-1]["hash"]
    session.execute(insert(AuditRecord), rows)


def reveal(
    session: Session,
    *,
    principal: Principal,
    entity: str,
    entity_id: object,
    fields: list[str] | tuple[str, ...] | frozenset[str],
    reason: str,
) -> AuditRecord:
    """Audit a read of unmasked personal data (``fields`` of one entity); a reason is required."""
    if not reason.strip():
        raise ValidationFailed("audit.error.reason_required", field="reason")
    return record(
        session,
        actor=principal,
        action=READ_PERSONAL,
        entity=entity,
        entity_id=entity_id,
        reason=reason.strip(),
        detail={"fields": sorted(fields)},
    )


# ---------------------------------------------------------------------------- reading


def list_records(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Records matching the filters, newest first (page on with ``before_id``)."""
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if actor is not None:
        stmt = stmt.where(AuditRecord.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditRecord.action == action)
    if entity is not None:
        stmt = stmt.where(AuditRecord.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditRecord.entity_id == entity_id)
    if since is not None:
        stmt = stmt.where(AuditRecord.at >= since)
    if until is not None:
        stmt = stmt.where(AuditRecord.at < until)
    if before_id is not None:
        stmt = stmt.where(AuditRecord.id < before_id)
    return list(session.execute(stmt).scalars())


# ---------------------------------------------------------------------------- verifying

Problem = Literal["missing_rows", "prev_hash_mismatch", "hash_mismatch", "anchor_missing"]


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain: intact, or the first broken link."""

    ok: bool
    checked: int
    head_id: int | None = None
    head_hash: str | None = None
    broken_id: int | None = None
    problem: Problem | None = None
    expected: str | None = None
    found: str | None = None

    def message(self, lang: str | None = None) -> str:
        """What the result means, in ``lang``."""
        if self.ok:
            return translate(
                "audit.verify.ok",
                lang,
                count=self.checked,
                head_id=self.head_id or 0,
                head_hash=self.head_hash or GENESIS_HASH,
            )
        return translate(
            f"audit.verify.{self.problem}",
            lang,
            id=self.broken_id,
            expected=self.expected or "",
            found=self.found or "",
        )


def verify_chain(session: Session, *, anchor: str | None = None) -> VerifyResult:
    """Walk the whole chain in id order and report the first broken link, if any.

    ``anchor`` is a hash noted earlier (e.g. the head printed by a previous run); when
    given, the chain must still contain it, which catches rows cut off the end.
    """
    table = AuditRecord.__table__
    rows = session.execute(select(table).order_by(table.c.id).execution_options(yield_per=1000))
    expected_id, expected_prev = 1, GENESIS_HASH
    checked = 0
    anchor_seen = anchor is None
    for row in rows.mappings():
        if row["id"] != expected_id:
            return VerifyResult(
                ok=False,
                checked=checked,
                broken_id=row["id"],
                problem="missing_rows",
                expected=str(expected_id),
                found=str(row["id"] - 1),
            )
        if row["prev_hash"] != expected_prev:
            return VerifyResult(
                ok=False,
                checked=checked,
                broken_id=row["id"],
                problem="prev_hash_mismatch",
                expected=expected_prev,
                found=row["prev_hash"],
            )
        fields = _fields(
            id=row["id"],
            at=_aware(row["at"]),
            actor=row["actor"],
            actor_roles=row["actor_roles"] or [],
            action=row["action"],
            entity=row["entity"],
            entity_id=row["entity_id"],
            reason=row["reason"],
            detail=row["detail"],
            ip=row["ip"],
        )
        actual = compute_hash(row["prev_hash"], fields)
        if actual != row["hash"]:
            return VerifyResult(
                ok=False,
                checked=checked,
                broken_id=row["id"],
                problem="hash_mismatch",
                expected=row["hash"],
                found=actual,
            )
        if not anchor_seen and row["hash"] == anchor:
            anchor_seen = True
        checked += 1
        expected_id, expected_prev = row["id"] + 1, row["hash"]
    head_id = expected_id - 1 if checked else None
    head_hash = expected_prev if checked else None
    if not anchor_seen:
        return VerifyResult(
            ok=False,
            checked=checked,
            head_id=head_id,
            head_hash=head_hash,
            problem="anchor_missing",
            expected=anchor,
            found=head_hash,
        )
    return VerifyResult(ok=True, checked=checked, head_id=head_id, head_hash=head_hash)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
