"""The anti-fraud desk's service layer: signals in, graded warnings out, the five quick steps.

**Signals.** Partner systems (operators, banks, platforms) push reports in batches: a
call from a listed number, fraud content, an app installed, a transfer to a flagged or
mule-like account, the person's own report, an operator's risk score. Each item is
validated on its own; one malformed item refuses the whole batch with a 422 naming its
index and field (``signals[3].amount``) and nothing is written. ``(partner, id)`` is
unique: sending a report again returns what the first one produced, nothing is added.

**Scoring.** Every report adds to the person's typology signals (see
:mod:`pingan.antifraud.typology`); the people a batch touched are re-scored in one
vectorised call. A person reaching ``medium`` or ``high`` gets a warning (or their open
warning is upgraded), with the reasons in zh-CN and en, routed to the least-loaded
active team of their jurisdiction (else of the nearest jurisdiction above, else below).

**Teams.** A supervisor sets each team's members (users who read the desk and serve the
team's jurisdiction); a member's ``scope=team`` queue is their teams' warnings, and a
case room can invite a whole team (:mod:`pingan.antifraud.caseroom`).

**Five quick steps (快五条).** Assessment (the score) and push (routing) happen on
ingest; dissuasion, stop-payment and feedback each get a deadline from the editable
:class:`~pingan.antifraud.models.SlaPolicy`; the deadline is a row (``due_at``) and
:func:`sweep` flags the missed ones (escalated to a supervisor: flag + event), so timers
survive restarts. Holds (紧急止付, 48 h, at most two renewals) not renewed in time expire
in the same sweep.

Functions are keyword-only, never commit, audit each write and record their events in
the outbox in the same transaction.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import statistics
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple, cast

import numpy as np
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pingan.antifraud.events import (
    ContactRecorded,
    StopPaymentChanged,
    StopPaymentRequested,
    VisitRequested,
    WarningClosed,
    WarningEscalated,
    WarningRaised,
)
from pingan.antifraud.models import (
    HOLDING_STATUSES,
    OPEN_WARNING_STATUSES,
    ContactAttempt,
    FraudWarning,
    PotentialVictim,
    Signal,
    SlaPolicy,
    StopPayment,
    Team,
    TeamMember,
)
from pingan.antifraud.schemas import (
    MAX_BATCH,
    BankAnswer,
    BatchResult,
    ContactCreate,
    ContactRead,
    Dashboard,
    DayCount,
    SignalIn,
    SlaPolicyBody,
    StopPaymentCreate,
    StopPaymentRead,
    SweepReport,
    TeamMemberRead,
    TeamMembersRead,
    TeamRead,
    TeamRef,
    TransferSignal,
    VisitCreate,
    WarningBrief,
    WarningClose,
    WarningRead,
)
from pingan.antifraud.text import (
    NORMAL,
    TextModel,
    TextPrediction,
    latest_model_path,
    type_label,
)
from pingan.antifraud.typology import LEVELS, TypologyScorer, load_config
from pingan.core import audit, clock
from pingan.core.auth import service as auth_service
from pingan.core.auth.deps import scope_to_jurisdictions
from pingan.core.auth.models import ApiKey, Jurisdiction, User
from pingan.core.auth.permissions import Principal, actor_name, has_permission
from pingan.core.db import json_text
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.i18n import translate
from pingan.core.module import Context
from pingan.core.outbox import record, record_many
from pingan.core.privacy import mask_bank_card, mask_mobile, mask_text, normalise_mobile

Actor = Principal | str

DEFAULT_SLA_POLICY: Final = Path(__file__).parent / "sla_policy.json"
HOLD: Final = timedelta(hours=48)
"""One emergency hold (紧急止付): 48 hours."""
MAX_RENEWALS: Final = 2
DEFAULT_SWEEP_INTERVAL_S: Final = 60.0
MULE_FANIN: Final = 3
"""A receiving account with this many senders in 24 h counts as mule-like."""
RANK: Final = {level: i for i, level in enumerate(LEVELS)}
QueueScope = Literal["mine", "team", "all"]
TEAM_MEMBER_PERMISSION: Final = "antifraud.read"
"""What a team member's roles must grant: reading the team's warnings."""
StatusFilter = Literal["open", "closed", "all"]

_SIGNALS: Final = TypeAdapter[list[Any]](list[SignalIn])
_KINDS: Final = frozenset({"call", "sms", "app", "transfer", "report", "risk"})


# ============================================================================= pure


@cache
def scorer() -> TypologyScorer:
    """The typology scorer of the shipped configuration (loaded once)."""
    return TypologyScorer(load_config())


def keyed_hash(value: str, secret: str) -> str:
    """HMAC-SHA256 of ``value`` under ``secret`` (hex): a pseudonymous, stable key."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def default_policy() -> dict[str, dict[str, int]]:
    """The shipped SLA policy (``sla_policy.json``), validated."""
    raw = json.loads(DEFAULT_SLA_POLICY.read_text(encoding="utf-8"))
    return SlaPolicyBody.model_validate(raw).model_dump()


def _field(index: int, loc: Sequence[int | str]) -> str:
    parts = list(loc)
    if parts and parts[0] in _KINDS:
        parts = parts[1:]  # the discriminated union's tag
    tail = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return f"signals[{index}]{tail or '.kind'}"


def parse_signals(items: Sequence[Any]) -> list[Any]:
    """Each item as its typed signal; the first bad one raises 422 naming index and field.

    The whole list is validated in one call (pydantic-core walks it natively); of the
    errors, the one of the lowest index is reported, as an item-by-item pass would."""
    try:
        parsed: list[Any] = _SIGNALS.validate_python(list(items))
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["loc"] and isinstance(e["loc"][0], int)]
        error = min(errors, key=lambda e: int(e["loc"][0])) if errors else exc.errors()[0]
        i = int(error["loc"][0]) if errors else 0
        raise ValidationFailed(
            "antifraud.error.signal_invalid",
            field=_field(i, error["loc"][1:] if errors else error["loc"]),
            index=i,
            reason=error["msg"],
        ) from None
    for i, item in enumerate(parsed):
        if item.kind == "sms":
            if item.fraud_type is not None and item.probability is None:
                raise ValidationFailed(
                    "antifraud.error.signal_invalid",
                    field=f"signals[{i}].probability",
                    index=i,
                    reason="Field required",
                )
            if item.fraud_type is None and not (item.text or "").strip():
                raise ValidationFailed(
                    "antifraud.error.text_required", field=f"signals[{i}].text", index=i
                )
    return parsed


@dataclass(frozen=True, slots=True)
class TextVerdict:
    """The fraud-text model's verdict on a raw SMS: type (``normal`` or a fraud type),
    fraud probability (1 − P(normal)), the phrases that weighed most, the model version."""

    type: str
    probability: float
    keywords: tuple[str, ...]
    model: str

    def as_payload(self) -> dict[str, Any]:
        """What the stored report keeps of the verdict."""
        return {
            "type": self.type,
            "probability": round(self.probability, 4),
            "keywords": list(self.keywords),
            "model": self.model,
        }


TEXT_KEYWORDS: Final = 3
"""Phrases named in a warning's reason for a classified SMS."""

_text_models: dict[Path, tuple[float, TextModel]] = {}
_text_models_lock = threading.Lock()


def text_model(data_dir: Path) -> TextModel | None:
    """The newest fraud-text model under ``<data_dir>/models/antifraud`` (loaded once per
    file and kept), or None when none is installed."""
    path = latest_model_path(Path(data_dir) / "models" / "antifraud")
    if path is None:
        return None
    mtime = path.stat().st_mtime
    cached = _text_models.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with _text_models_lock:
        cached = _text_models.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, TextModel.load(path))
            _text_models[path] = cached
    return cached[1]


def _keywords(prediction: TextPrediction) -> tuple[str, ...]:
    """The prediction's strongest phrases: jieba words first, then character n-grams, each
    at least two characters and not a placeholder, none inside one already named."""
    out: list[str] = []
    ordered = sorted(prediction.reasons, key=lambda r: (r.kind != "word", -r.contribution))
    for reason in ordered:
        phrase = reason.feature.strip()
        if len(phrase) < 2 or "#" in phrase or "@" in phrase:
            continue
        if any(phrase in kept or kept in phrase for kept in out):
            continue
        out.append(phrase)
        if len(out) == TEXT_KEYWORDS:
            break
    return tuple(out)


def classify_texts(model: TextModel, texts: Sequence[str]) -> list[TextVerdict]:
    """The model's verdict on each raw text, in one vectorised pass (features, logits and
    the decision rule over the whole batch; reasons only for the texts called fraud)."""
    if not texts:
        return []
    version = str(model.metadata.get("version", ""))
    return [
        TextVerdict(
            type=p.label,
            probability=p.fraud_probability,
            keywords=_keywords(p),
            model=version,
        )
        for p in model.predict(list(texts), top_k=12, explain_normal=False)
    ]


def parse_signal_file(data: bytes, content_type: str) -> list[dict[str, Any]]:
    """The items of an uploaded file: JSON Lines (one object a line) or CSV with a header
    (empty cells left out; UTF-8 with or without BOM, else GB18030). 422 on ``file`` for an
    empty or oversized file, on ``signals[i]`` for a line that is not a JSON object."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    items: list[dict[str, Any]] = []
    if "csv" in content_type:
        for row in csv.DictReader(io.StringIO(text)):
            items.append({k: v for k, v in row.items() if k and v not in (None, "")})
    else:
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                item = None
            if not isinstance(item, dict):
                raise ValidationFailed(
                    "antifraud.error.bad_line", field=f"signals[{len(items)}]", index=len(items)
                )
            items.append(item)
    if not items:
        raise ValidationFailed("antifraud.error.empty_file", field="file")
    if len(items) > MAX_BATCH:
        raise ValidationFailed("antifraud.error.too_many", field="file", max=MAX_BATCH)
    return items


def apply_signal(
    signals: dict[str, float], item: Any, verdict: TextVerdict | None = None
) -> dict[str, float]:
    """A person's typology signals after one report (a new dict); ``verdict`` is the text
    model's on a raw SMS (a fraud type feeds ``text_<type>`` with its fraud probability)."""
    out = dict(signals)

    def add(name: str, value: float) -> None:
        out[name] = out.get(name, 0.0) + value

    def top(name: str, value: float) -> None:
        out[name] = max(out.get(name, 0.0), value)

    if item.kind == "call":
        add(
            "calls_from_police_impersonators"
            if item.caller_flag == "police_impersonation"
            else "calls_from_flagged_numbers",
            1.0,
        )
        top("longest_flagged_call_s", item.duration_s)
    elif item.kind == "sms":
        if item.fraud_type is not None:
            top(f"text_{item.fraud_type}", float(item.probability or 0.0))
        elif verdict is not None and verdict.type != NORMAL:
            top(f"text_{verdict.type}", verdict.probability)
    elif item.kind == "report":
        top(f"text_{item.fraud_type}", 1.0)
    elif item.kind == "app":
        top("new_remote_app" if item.app_kind == "remote" else "new_finance_app", 1.0)
    elif item.kind == "transfer":
        if item.flagged or item.payee_fanin_24h >= MULE_FANIN:
            add("transfer_to_mule_amount", item.amount)
            top("mule_fanin_24h", float(item.payee_fanin_24h))
        if item.new_payee:
            add("new_payee_amount_24h", item.amount)
    elif item.kind == "risk":
        top("victim_risk", item.score)
    return out


def stored_payload(item: Any, verdict: TextVerdict | None = None) -> dict[str, Any]:
    """What a signal row keeps: the report without the phone number, texts and accounts
    masked, and the text model's verdict on a raw SMS (``text_model``)."""
    payload: dict[str, Any] = item.model_dump(mode="json", exclude={"id", "phone"})
    if isinstance(item, TransferSignal):
        payload["account"] = mask_bank_card(item.account)
    if payload.get("text"):
        payload["text"] = mask_text(str(payload["text"]))
    if verdict is not None:
        payload["text_model"] = verdict.as_payload()
    return payload


def seconds_left(due_at: datetime | None, now: datetime) -> float | None:
    """Seconds until ``due_at`` (negative when overdue), or None without a deadline."""
    return None if due_at is None else (due_at - now).total_seconds()


# ============================================================================= service


def _scope(stmt: Select[Any], column: Any, principal: Principal | None) -> Select[Any]:
    return stmt if principal is None else scope_to_jurisdictions(stmt, column, principal)


def partner_code(*, db: Session, principal: Principal) -> str | None:
    """The partner a key speaks for (its ``partner``), or None for a signed-in user."""
    if principal.api_key_id is None:
        return None
    key = db.get(ApiKey, principal.api_key_id)
    return key.partner if key is not None else None


def partner_jurisdiction(*, db: Session, principal: Principal) -> int | None:
    """The jurisdiction a partner key was issued for, if any (the default place)."""
    if principal.api_key_id is None:
        return None
    key = db.get(ApiKey, principal.api_key_id)
    return key.jurisdiction_id if key is not None else None


# ---------------------------------------------------------------------------- SLA policy


def get_policy(*, db: Session) -> dict[str, dict[str, int]]:
    """Every level's step deadlines (seconds): the stored rows over the shipped defaults."""
    policy = default_policy()
    for row in db.scalars(select(SlaPolicy)):
        if row.level in policy:
            policy[row.level] = {**policy[row.level], **row.steps}
    return policy


def set_policy(*, db: Session, policy_in: SlaPolicyBody, actor: Actor) -> dict[str, dict[str, int]]:
    """Replace the SLA policy (a supervisor's edit); open warnings keep their deadlines
    until their next step."""
    now = clock.now()
    before = get_policy(db=db)
    wanted = policy_in.model_dump()
    rows = {r.level: r for r in db.scalars(select(SlaPolicy))}
    for level, steps in wanted.items():
        row = rows.get(level)
        if row is None:
            row = SlaPolicy(level=level, steps=steps, updated_at=now)
            db.add(row)
        row.steps = dict(steps)
        row.updated_at = now
        row.updated_by = actor_name(actor)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="antifraud_sla_policy",
        entity_id="all",
        detail={"before": before, "after": wanted},
    )
    return get_policy(db=db)


def _start_step(
    warning: FraudWarning, step: str, now: datetime, policy: dict[str, dict[str, int]]
) -> None:
    warning.step = step
    warning.step_started_at = now
    warning.due_at = now + timedelta(seconds=policy[warning.level][step])
    warning.breached = False


# ---------------------------------------------------------------------------- teams


def list_teams(*, db: Session, principal: Principal | None = None) -> list[TeamRead]:
    """The teams the caller may see, with their open load and member count."""
    loads = _loads(db)
    sizes: dict[int, int] = {
        team_id: int(n)
        for team_id, n in db.execute(
            select(TeamMember.team_id, func.count()).group_by(TeamMember.team_id)
        )
    }
    stmt = _scope(select(Team).order_by(Team.code), Team.jurisdiction_id, principal)
    return [
        TeamRead(
            id=t.id,
            code=t.code,
            name=t.name,
            jurisdiction_id=t.jurisdiction_id,
            capacity=t.capacity,
            active=t.active,
            open_warnings=loads.get(t.id, 0),
            members=sizes.get(t.id, 0),
        )
        for t in db.scalars(stmt)
    ]


def get_team(*, db: Session, team_id: int, principal: Principal | None = None) -> Team:
    """A team the caller may see: 404 on ``team_id`` when there is none or it lies outside
    the caller's jurisdictions (as if it did not exist, like warnings)."""
    team = db.get(Team, team_id)
    if team is None or (principal is not None and not principal.sees(team.jurisdiction_id)):
        raise NotFound("antifraud.error.team_not_found", field="team_id", id=team_id)
    return team


def team_usernames(*, db: Session, team_id: int) -> list[str]:
    """The usernames on a team, sorted."""
    return list(
        db.scalars(
            select(TeamMember.username)
            .where(TeamMember.team_id == team_id)
            .order_by(TeamMember.username)
        )
    )


def team_members_read(*, db: Session, team: Team) -> TeamMembersRead:
    """A team with its members (by username, then when they were added)."""
    rows = db.scalars(
        select(TeamMember).where(TeamMember.team_id == team.id).order_by(TeamMember.username)
    )
    return TeamMembersRead(
        id=team.id,
        code=team.code,
        name=team.name,
        jurisdiction_id=team.jurisdiction_id,
        members=[TeamMemberRead(username=m.username, added_at=m.added_at) for m in rows],
    )


def set_team_members(
    *, db: Session, team_id: int, usernames: Sequence[str], actor: Principal
) -> Team:
    """Replace a team's member list (a supervisor's edit).

    The team must be one the caller sees (else 404 on ``team_id``). Every username must
    be an active user (else 422 on ``usernames[i]``) whose roles read the desk's warnings
    and whose jurisdictions cover the team's (else 422 on ``usernames[i]``): a member must
    be able to see the team's warnings. Duplicates collapse. Nothing is written on a
    refusal; a change writes one audit record with the usernames added and removed (no
    record when the list is unchanged)."""
    team = get_team(db=db, team_id=team_id, principal=actor)
    names = [n.strip() for n in usernames]
    wanted = list(dict.fromkeys(names))
    users = {
        u.username: u
        for u in db.scalars(select(User).where(User.username.in_([n for n in wanted if n])))
    }
    checked: set[str] = set()
    for i, name in enumerate(names):
        if name in checked:
            continue
        field_name = f"usernames[{i}]"
        user = users.get(name)
        if user is None or not user.active:
            raise ValidationFailed(
                "antifraud.error.unknown_member", field=field_name, username=name
            )
        member = auth_service.principal_for_user(db=db, user=user)
        if not has_permission(member.roles, TEAM_MEMBER_PERMISSION):
            raise ValidationFailed("antifraud.error.member_role", field=field_name, username=name)
        if not member.sees(team.jurisdiction_id):
            raise ValidationFailed(
                "antifraud.error.member_other_jurisdiction", field=field_name, username=name
            )
        checked.add(name)
    current = {
        m.username: m for m in db.scalars(select(TeamMember).where(TeamMember.team_id == team.id))
    }
    added = sorted(set(wanted) - set(current))
    removed = sorted(set(current) - set(wanted))
    if not added and not removed:
        return team
    for name in removed:
        db.delete(current[name])
    now = clock.now()
    db.add_all(TeamMember(team_id=team.id, username=name, added_at=now) for name in added)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="antifraud_team",
        entity_id=team.id,
        reason="antifraud: team members",
        detail={"team": team.code, "added": added, "removed": removed},
    )
    return team


def user_team_ids(*, db: Session, username: str) -> list[int]:
    """The teams ``username`` is a member of."""
    return list(db.scalars(select(TeamMember.team_id).where(TeamMember.username == username)))


def _loads(db: Session) -> dict[int, int]:
    rows = db.execute(
        select(FraudWarning.team_id, func.count())
        .where(FraudWarning.status.in_(OPEN_WARNING_STATUSES), FraudWarning.team_id.is_not(None))
        .group_by(FraudWarning.team_id)
    ).all()
    return {int(team_id): int(n) for team_id, n in rows if team_id is not None}


class _TeamRow(NamedTuple):
    id: int
    code: str
    jurisdiction_id: int
    capacity: int


class _PlaceRow(NamedTuple):
    id: int
    parent_id: int | None
    path: str


class _Router:
    """Least-loaded team per jurisdiction for one batch (loads counted once, then kept)."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.loads = _loads(db)
        # Plain rows, not ORM instances: routing reads four columns, and ingest builds a
        # router for most batches (ORM instances would be cyclic garbage for the collector).
        self.teams = [
            _TeamRow(*row)
            for row in db.execute(
                select(Team.id, Team.code, Team.jurisdiction_id, Team.capacity).where(
                    Team.active.is_(True)
                )
            )
        ]
        self.places = {
            row[0]: _PlaceRow(*row)
            for row in db.execute(
                select(Jurisdiction.id, Jurisdiction.parent_id, Jurisdiction.path)
            )
        }

    def route(self, jurisdiction_id: int | None) -> _TeamRow | None:
        """The team for a person of ``jurisdiction_id``: its own teams, else the nearest
        jurisdiction above with teams, else the teams below it; least load/capacity."""
        if jurisdiction_id is None or not self.teams:
            return None
        candidates: list[_TeamRow] = []
        current = self.places.get(jurisdiction_id)
        while current is not None and not candidates:
            candidates = [t for t in self.teams if t.jurisdiction_id == current.id]
            current = self.places.get(current.parent_id) if current.parent_id else None
        if not candidates:
            place = self.places.get(jurisdiction_id)
            if place is not None:
                below = {j.id for j in self.places.values() if j.path.startswith(place.path)}
                candidates = [t for t in self.teams if t.jurisdiction_id in below]
        if not candidates:
            return None
        team = min(
            candidates,
            key=lambda t: (
                self.loads.get(t.id, 0) / max(t.capacity, 1),
                self.loads.get(t.id, 0),
                t.id,
            ),
        )
        self.loads[team.id] = self.loads.get(team.id, 0) + 1
        return team


def seed_demo_teams(*, db: Session, city_id: int, count: int = 179, actor: Actor = "system") -> int:
    """The demo city's warning-dissuasion teams (``count``, spread over its districts:
    "Kamppi 预警劝阻专班 3"); idempotent by code. Returns how many were created."""
    from pingan.city.models import City, District

    city = db.get(City, city_id)
    if city is None:
        raise NotFound("antifraud.error.city_not_found", field="city_id", city_id=city_id)
    districts = [
        d
        for d in db.scalars(
            select(District).where(District.city_id == city_id).order_by(District.name)
        )
        if d.jurisdiction_id is not None
    ]
    places: list[tuple[int, str]] = [(int(d.jurisdiction_id or 0), d.name) for d in districts]
    if not places and city.jurisdiction_id is not None:
        places = [(city.jurisdiction_id, city.name)]
    if not places:
        return 0
    existing = set(db.scalars(select(Team.code).where(Team.code.like(f"{city.name}-af-%"))))
    created = 0
    numbers: Counter[int] = Counter()
    for i in range(count):
        jurisdiction_id, name = places[i % len(places)]
        numbers[jurisdiction_id] += 1
        code = f"{city.name}-af-{i + 1:03d}"
        if code in existing:
            continue
        db.add(
            Team(
                code=code,
                name=f"{name} 预警劝阻专班 {numbers[jurisdiction_id]}",
                jurisdiction_id=jurisdiction_id,
                capacity=20,
                active=True,
                demo=True,
            )
        )
        created += 1
    if created:
        db.flush()
        audit.record(
            db,
            actor=actor,
            action=audit.CREATE,
            entity="antifraud_team",
            entity_id=city.name,
            detail={"created": created, "city_id": city_id},
        )
    return created


# ---------------------------------------------------------------------------- signals


class _Known(NamedTuple):
    """What a stored report answers with (its row, person, level and warning)."""

    signal_id: int
    victim_id: int
    level: str
    warning_id: int | None


@dataclass(slots=True)
class _Person:
    """A potential victim while a batch is scored (plain data, written back in bulk)."""

    id: int
    jurisdiction_id: int | None
    lon: float | None
    lat: float | None
    signals: dict[str, float]
    score: float = 0.0
    level: str = "low"
    typology: str = ""
    reasons: dict[str, list[str]] = field(default_factory=dict)


def _chunks(values: Sequence[str], db: Session) -> Iterator[Sequence[str]]:
    """``values`` in pieces a query can take: all at once on PostgreSQL (one array
    parameter, see :func:`_among`), 5,000 at a time elsewhere (SQLite takes 32,766)."""
    size = (len(values) or 1) if db.get_bind().dialect.name == "postgresql" else 5000
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _among(db: Session, column: Any, values: Sequence[str]) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``: one short statement
    whatever the count (an IN list of thousands of parameters is parsed anew each time)."""
    if db.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(String)))
    return column.in_(values)


def _among_ids(db: Session, column: Any, values: Sequence[int]) -> Any:
    """``column IN values`` for integer ids; ``= ANY(:array)`` on PostgreSQL."""
    if db.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(Integer)))
    return column.in_(values)


def _insert_ignoring_conflicts(db: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (one executemany); a row whose unique key exists is skipped."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        db.execute(pg_insert(model).on_conflict_do_nothing(), rows)
    elif dialect == "sqlite":
        db.execute(sqlite_insert(model).on_conflict_do_nothing(), rows)
    else:  # pragma: no cover - the platform runs on PostgreSQL or SQLite
        db.execute(insert(model), rows)


# PostgreSQL: one statement per step of a batch, whatever its size. The rows travel as one
# JSON document (``json_to_recordset``): one parameter, encoded by the C JSON encoder and
# parsed by the server, where an executemany binds and executes one statement per row and
# array parameters are escaped element by element in Python.
_PG_KNOWN_REPORTS: Final = text(
    "SELECT s.partner_signal_id, s.id, s.victim_id, s.level, s.warning_id"
    " FROM json_array_elements_text(CAST(:ids AS json)) AS u(sid)"
    # LATERAL ... LIMIT 1: one probe of the (partner, id) unique index per id, never a
    # join over all of the partner's reports. (There is no partner-only index any more:
    # before a table's first ANALYZE the planner preferred it, smaller at the same guessed
    # cost, and read all of the partner's reports for every id.)
    " CROSS JOIN LATERAL (SELECT r.partner_signal_id, r.id, r.victim_id, r.level,"
    " r.warning_id FROM antifraud_signals AS r"
    " WHERE r.partner = :partner AND r.partner_signal_id = u.sid LIMIT 1) AS s"
)
_PG_INSERT_PEOPLE: Final = text(
    "INSERT INTO antifraud_victims (key, phone, phone_masked, jurisdiction_id, signals,"
    " score, level, typology, reasons, created_at, updated_at)"
    " SELECT u.key, u.phone, u.masked, NULL, CAST('{}' AS json), 0, 'low', '',"
    " CAST('{}' AS json), :now, :now"
    " FROM json_to_recordset(CAST(:rows AS json)) AS u(key text, phone text, masked text)"
    " ON CONFLICT (key) DO NOTHING"
)
_PG_UPDATE_PEOPLE: Final = text(
    "UPDATE antifraud_victims AS v SET jurisdiction_id = u.jurisdiction_id, lon = u.lon,"
    " lat = u.lat, signals = u.signals, score = u.score, level = u.level,"
    " typology = u.typology, reasons = u.reasons, updated_at = :now"
    " FROM json_to_recordset(CAST(:rows AS json)) AS u(id integer, jurisdiction_id integer,"
    " lon double precision, lat double precision, signals json, score double precision,"
    " level text, typology text, reasons json)"
    " WHERE v.id = u.id"
)
_PG_INSERT_REPORTS: Final = text(
    "INSERT INTO antifraud_signals (partner, partner_signal_id, kind, payload, received_at,"
    " victim_id, level, warning_id)"
    " SELECT :partner, u.sid, u.kind, u.payload, :now, u.victim_id, u.level, u.warning_id"
    " FROM json_to_recordset(CAST(:rows AS json)) AS u(sid text, kind text, payload json,"
    " victim_id integer, level text, warning_id integer)"
    " ON CONFLICT (partner, partner_signal_id) DO NOTHING"
    " RETURNING id, partner_signal_id"
)


def _pg_insert_people(db: Session, keys: list[str], phones: list[str], now: datetime) -> None:
    rows = [
        {"key": k, "phone": p, "masked": mask_mobile(p)} for k, p in zip(keys, phones, strict=True)
    ]
    db.connection().execute(_PG_INSERT_PEOPLE, {"rows": json_text(rows), "now": now})


_PERSON_COLUMNS: Final = (
    "jurisdiction_id", "lon", "lat", "signals", "score", "level", "typology", "reasons",
)  # fmt: skip
"""The columns of a potential victim that a batch rewrites."""


def _person_values(p: _Person) -> dict[str, Any]:
    return {c: getattr(p, c) for c in _PERSON_COLUMNS}


def _pg_update_people(db: Session, people: list[_Person], now: datetime) -> None:
    rows = [{"id": p.id, **_person_values(p)} for p in people]
    db.connection().execute(_PG_UPDATE_PEOPLE, {"rows": json_text(rows), "now": now})


def _pg_insert_reports(
    db: Session, partner: str, rows: list[dict[str, Any]], now: datetime
) -> list[int]:
    """Insert the reports; their new ids, in the order of ``rows``.

    Raises :class:`_Retry` when another transaction stored one of them first (it waits
    for that transaction: committed, the report is a conflict; rolled back, ours goes
    in)."""
    document = json_text(
        [
            {
                "sid": r["partner_signal_id"],
                "kind": r["kind"],
                "payload": r["payload"],
                "victim_id": r["victim_id"],
                "level": r["level"],
                "warning_id": r["warning_id"],
            }
            for r in rows
        ]
    )
    returned = db.connection().execute(
        _PG_INSERT_REPORTS, {"partner": partner, "rows": document, "now": now}
    )
    by_sid = {str(sid): int(row_id) for row_id, sid in returned}
    if len(by_sid) < len(rows):
        raise _Retry
    return [by_sid[r["partner_signal_id"]] for r in rows]


def _insert_returning_ids(db: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in one executemany (SQLite); their new ids, in order."""
    returned = (
        db.connection()
        .execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        .scalars()
    )
    return [int(i) for i in returned]


def _level_up(new: str, old: str) -> bool:
    return RANK[new] > RANK[old]


class _Retry(Exception):
    """A concurrent batch stored one of this batch's reports first: write again."""


MAX_WRITE_ATTEMPTS: Final = 5
"""Attempts at a batch's writes when concurrent batches carry the same reports."""


def _known_reports(db: Session, partner: str, ids: Sequence[str]) -> dict[str, _Known]:
    """The stored reports of ``partner`` among ``ids`` (only the columns an answer needs)."""
    known: dict[str, _Known] = {}
    if not ids:
        return known
    if db.get_bind().dialect.name == "postgresql":
        for sid, row_id, victim_id, level, warning_id in db.execute(
            _PG_KNOWN_REPORTS, {"ids": json_text(list(ids)), "partner": partner}
        ):
            known[sid] = _Known(row_id, victim_id, level, warning_id)
        return known
    for chunk in _chunks(ids, db):
        for sid, row_id, victim_id, level, warning_id in db.execute(
            select(
                Signal.partner_signal_id,
                Signal.id,
                Signal.victim_id,
                Signal.level,
                Signal.warning_id,
            ).where(Signal.partner == partner, _among(db, Signal.partner_signal_id, chunk))
        ):
            known[sid] = _Known(row_id, victim_id, level, warning_id)
    return known


def _fresh_reports(parsed: Sequence[Any], known: dict[str, _Known]) -> dict[str, int]:
    """Partner id → index of its first report in the batch, for ids not stored yet."""
    fresh: dict[str, int] = {}
    for i, s in enumerate(parsed):
        if s.id not in known and s.id not in fresh:
            fresh[s.id] = i
    return fresh


def _is_report_conflict(exc: IntegrityError) -> bool:
    """Whether ``exc`` is the (partner, id) unique key of the reports."""
    return "antifraud_signals" in str(exc.orig) or "partner_signal_id" in str(exc.orig)


_Pending = tuple[audit.Entry, WarningRaised]
"""A raised or upgraded warning's audit record and event, written at the end of a batch."""


@dataclass(slots=True)
class _Batch:
    """A validated batch on its way to the database."""

    partner: str
    parsed: Sequence[Any]
    phones: list[str]
    keys: list[str]
    by_code: dict[str, int]
    default_jurisdiction_id: int | None
    now: datetime
    actor: Actor
    known: dict[str, _Known]
    fresh: dict[str, int]
    verdicts: dict[int, TextVerdict]
    existing: set[str] | None
    """People known before the writes (others are inserted, ignoring conflicts); None
    when they were not read (every person of the batch is inserted, ignoring conflicts)."""


def ingest_signals(
    *,
    db: Session,
    partner: str,
    items: Sequence[Any],
    secret: str,
    actor: Actor,
    default_jurisdiction_id: int | None = None,
    text_model: TextModel | Callable[[], TextModel | None] | None = None,
) -> BatchResult:
    """Store a batch of partner signals, re-score the people it touches and raise or
    upgrade their warnings.

    An SMS without ``fraud_type`` is classified by ``text_model`` (all of the batch's raw
    texts in one vectorised pass): a fraud verdict feeds ``text_<type>`` with its fraud
    probability, and a warning it contributes to names the type, the probability and the
    phrases that weighed most. Without a model such an SMS is a 422 on
    ``signals[i].fraud_type``. ``text_model`` may be a loader, called only when the batch
    holds a raw text.

    All-or-nothing on bad input: a malformed item (422 on ``signals[i].<field>``), an
    unknown jurisdiction code (422 on ``signals[i].jurisdiction``) or a new person with
    no place at all (422 on ``signals[i].jurisdiction``) refuses the batch unwritten.
    A report whose ``(partner, id)`` is known — from an earlier batch, earlier in this
    one, or a concurrent batch that committed it first — is a duplicate: its result is the
    first one's, nothing is added.

    Writes are set-based (a fixed handful of statements per batch, whatever its size):
    new people inserted ignoring conflicts, the batch's people read locked in key order,
    scored in one vectorised call, updated in one statement and the reports inserted in
    one (PostgreSQL: the rows as one JSON document; SQLite: executemany); warnings stay
    one per warning, and their audit records and events are written last. Concurrent
    batches about the same person therefore neither fail on its key nor lose signals.

    Concurrent batches carrying the same ``(partner, id)``: on SQLite writers are
    serialised (the write lock is taken, then the stored reports are read again); on
    PostgreSQL the writes run in a savepoint, the reports' insert skips a conflicting
    ``(partner, id)`` (waiting for the transaction that wrote it), and a skipped report
    rolls the savepoint back: the stored reports are read again and the writes redone —
    the report then answers ``duplicate`` with the first one's result, as when resent
    later. A unique violation on the reports (not expected) is handled the same way.
    """
    parsed = parse_signals(items)
    now = clock.now()
    # Jurisdiction codes → ids (unknown codes refused before any write).
    codes = {s.jurisdiction for s in parsed if s.jurisdiction is not None}
    by_code: dict[str, int] = (
        {
            code: jid
            for code, jid in db.execute(
                select(Jurisdiction.code, Jurisdiction.id).where(Jurisdiction.code.in_(codes))
            )
        }
        if codes
        else {}
    )
    for i, s in enumerate(parsed):
        if s.jurisdiction is not None and s.jurisdiction not in by_code:
            raise ValidationFailed(
                "antifraud.error.unknown_jurisdiction",
                field=f"signals[{i}].jurisdiction",
                code=s.jurisdiction,
            )
    postgres = db.get_bind().dialect.name == "postgresql"
    # Known reports of this partner (idempotency).
    known = _known_reports(db, partner, [s.id for s in parsed])
    # The people, by keyed hash of the number; only those with a new report matter.
    phones = [normalise_mobile(s.phone) for s in parsed]
    keys = [keyed_hash(phone, secret) for phone in phones]
    fresh = _fresh_reports(parsed, known)
    # A report without a place needs the person to be placed already (or the partner's
    # default place). Only then are the people read before the writes; otherwise every
    # person of the batch is inserted ignoring conflicts (an index probe for those who
    # exist) and read, locked, once in the writes.
    unplaced = [
        i
        for i in fresh.values()
        if parsed[i].jurisdiction is None and default_jurisdiction_id is None
    ]
    existing: set[str] | None = None
    if unplaced:
        placed: set[str] = set()
        existing = set()
        needed = sorted({keys[i] for i in fresh.values()})
        for chunk in _chunks(needed, db):
            for key, jurisdiction_id in db.execute(
                select(PotentialVictim.key, PotentialVictim.jurisdiction_id).where(
                    _among(db, PotentialVictim.key, chunk)
                )
            ):
                existing.add(key)
                if jurisdiction_id is not None:
                    placed.add(key)
        placed.update(keys[i] for i in fresh.values() if parsed[i].jurisdiction is not None)
        for i in unplaced:
            if keys[i] not in placed:
                raise ValidationFailed(
                    "antifraud.error.no_place", field=f"signals[{i}].jurisdiction"
                )
    # Raw SMS texts: classified together, before any write.
    raw = [i for i in fresh.values() if parsed[i].kind == "sms" and parsed[i].fraud_type is None]
    verdicts: dict[int, TextVerdict] = {}
    if raw:
        if callable(text_model):
            text_model = text_model()
        if text_model is None:
            raise ValidationFailed(
                "antifraud.error.no_text_model", field=f"signals[{raw[0]}].fraud_type"
            )
        judged = classify_texts(text_model, [str(parsed[i].text) for i in raw])
        verdicts = dict(zip(raw, judged, strict=True))

    batch = _Batch(
        partner=partner,
        parsed=parsed,
        phones=phones,
        keys=keys,
        by_code=by_code,
        default_jurisdiction_id=default_jurisdiction_id,
        now=now,
        actor=actor,
        known=known,
        fresh=fresh,
        verdicts=verdicts,
        existing=existing,
    )
    for attempt in range(MAX_WRITE_ATTEMPTS):
        try:
            if postgres:
                with db.begin_nested():
                    new_rows, raised, touched, pending = _write_batch(db, batch, postgres=True)
            else:
                new_rows, raised, touched, pending = _write_batch(db, batch, postgres=False)
            break
        except (_Retry, IntegrityError) as exc:
            if isinstance(exc, IntegrityError) and not _is_report_conflict(exc):
                raise
            if attempt == MAX_WRITE_ATTEMPTS - 1:
                raise
            # Another transaction committed some of these reports: they are duplicates now.
            batch.known.update(_known_reports(db, partner, list(batch.fresh)))
            batch.fresh = _fresh_reports(parsed, batch.known)

    known, fresh = batch.known, batch.fresh
    results: list[dict[str, Any]] = []
    duplicates = 0
    for i, s in enumerate(parsed):
        duplicate = s.id in known or fresh[s.id] != i
        result = known[s.id] if s.id in known else new_rows[s.id]
        duplicates += duplicate
        results.append(
            {
                "index": i,
                "id": s.id,
                "signal_id": result.signal_id,
                "status": "duplicate" if duplicate else "created",
                "victim_id": result.victim_id,
                "level": result.level,
                "warning_id": result.warning_id,
            }
        )
    # The warnings' audit records and events, last and in one go each: the audit chain's
    # lock is held from here to the commit only, and the outbox marks the outer
    # transaction (a savepoint's release would otherwise count as the commit that wakes
    # the relay).
    entries = [entry for entry, _event in pending]
    if new_rows:
        entries.append(
            audit.Entry(
                actor=actor,
                action=audit.CREATE,
                entity="antifraud_signal_batch",
                entity_id=partner,
                detail={
                    "created": len(new_rows),
                    "duplicates": duplicates,
                    "people": touched,
                    "warnings_raised": raised,
                },
            )
        )
    audit.record_many(db, entries)
    record_many(db, [event for _entry, event in pending])
    # One validation call for the whole answer (pydantic-core), cheaper than a
    # model_construct per item.
    return BatchResult.model_validate(
        {
            "created": len(new_rows),
            "duplicates": duplicates,
            "warnings_raised": raised,
            "results": results,
        }
    )


def _write_batch(
    db: Session, batch: _Batch, *, postgres: bool
) -> tuple[dict[str, _Known], int, int, list[_Pending]]:
    """The batch's writes: people, scores, warnings, reports. The new reports' answers,
    how many warnings were raised or upgraded, how many people were touched, and the
    warnings' audit records and events still to write.

    Raises :class:`_Retry` (PostgreSQL) when a concurrent transaction turns out to have
    stored one of the batch's reports first (the reports' insert skips the conflict)."""
    parsed, keys, now = batch.parsed, batch.keys, batch.now
    if not batch.fresh:
        return {}, 0, 0, []
    if not postgres:
        # SQLite locks the database, not rows: take the write lock now (an UPDATE that
        # matches nothing begins the write transaction), then read the stored reports
        # again — a concurrent batch that stored some of them has committed by now — so
        # the people and reports read below cannot change under us before the commit.
        db.execute(text("UPDATE antifraud_victims SET id = id WHERE 0"))
        batch.known.update(_known_reports(db, batch.partner, list(batch.fresh)))
        batch.fresh = _fresh_reports(parsed, batch.known)
        if not batch.fresh:
            return {}, 0, 0, []
    fresh = batch.fresh
    needed = sorted({keys[i] for i in fresh.values()})
    # New people first (a concurrent batch may create the same person: no conflict, the
    # row is shared), then every person of the batch is read locked (in key order, so two
    # batches cannot deadlock) and updated from the row as committed: two batches about
    # one person never lose each other's signals.
    missing = needed if batch.existing is None else [k for k in needed if k not in batch.existing]
    if missing and postgres:
        first_phone = {keys[i]: batch.phones[i] for i in fresh.values()}
        _pg_insert_people(db, missing, [first_phone[k] for k in missing], now)
    elif missing:
        first_phone = {keys[i]: batch.phones[i] for i in fresh.values()}
        _insert_ignoring_conflicts(
            db,
            PotentialVictim,
            [
                {
                    "key": k,
                    "phone": first_phone[k],
                    "phone_masked": mask_mobile(first_phone[k]),
                    "jurisdiction_id": None,
                    "signals": {},
                    "score": 0.0,
                    "level": "low",
                    "typology": "",
                    "reasons": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for k in missing
            ],
        )
    people: dict[str, _Person] = {}
    for chunk in _chunks(needed, db):
        for row in db.execute(
            select(
                PotentialVictim.id,
                PotentialVictim.key,
                PotentialVictim.jurisdiction_id,
                PotentialVictim.lon,
                PotentialVictim.lat,
                PotentialVictim.signals,
            )
            .where(_among(db, PotentialVictim.key, chunk))
            .order_by(PotentialVictim.key)
            .with_for_update()
        ):
            people[row.key] = _Person(
                id=row.id,
                jurisdiction_id=row.jurisdiction_id,
                lon=row.lon,
                lat=row.lat,
                signals=dict(row.signals or {}),
            )
    new_items: list[tuple[int, _Person]] = []
    for i in fresh.values():
        s = parsed[i]
        person = people[keys[i]]
        if s.jurisdiction is not None:
            person.jurisdiction_id = batch.by_code[s.jurisdiction]
        elif person.jurisdiction_id is None:
            person.jurisdiction_id = batch.default_jurisdiction_id
        if s.lon is not None and s.lat is not None:
            person.lon, person.lat = s.lon, s.lat
        verdict = batch.verdicts.get(i)
        person.signals = apply_signal(person.signals, s, verdict)
        new_items.append((i, person))
    touched = list({id(p): p for _i, p in new_items}.values())
    evidence: dict[int, list[TextVerdict]] = {}
    for i, person in new_items:
        if i in batch.verdicts:
            evidence.setdefault(person.id, []).append(batch.verdicts[i])

    raised, open_by_victim, pending = _rescore(
        db, touched, now=now, actor=batch.actor, evidence=evidence
    )
    if postgres:
        _pg_update_people(db, touched, now)
    else:
        _update_people(db, touched, now)
    values: list[dict[str, Any]] = []
    for i, person in new_items:
        s = parsed[i]
        open_warning = open_by_victim.get(person.id)
        values.append(
            {
                "partner": batch.partner,
                "partner_signal_id": s.id,
                "kind": s.kind,
                "payload": stored_payload(s, batch.verdicts.get(i)),
                "received_at": now,
                "victim_id": person.id,
                "level": person.level,
                "warning_id": open_warning.id if open_warning is not None else None,
            }
        )
    if postgres:
        inserted = _pg_insert_reports(db, batch.partner, values, now)
    else:
        inserted = _insert_returning_ids(db, cast(Table, Signal.__table__), values)
    new_rows: dict[str, _Known] = {}
    for row_id, v in zip(inserted, values, strict=True):
        new_rows[v["partner_signal_id"]] = _Known(
            row_id, v["victim_id"], v["level"], v["warning_id"]
        )
    return new_rows, raised, len(touched), pending


def _update_people(db: Session, people: list[_Person], now: datetime) -> None:
    """Write the people back: a Core executemany (one statement for the batch)."""
    victims = cast(Table, PotentialVictim.__table__)
    db.connection().execute(
        update(victims)
        .where(victims.c.id == bindparam("b_id"))
        .values({c: bindparam(c) for c in (*_PERSON_COLUMNS, "updated_at")}),
        [{"b_id": p.id, **_person_values(p), "updated_at": now} for p in people],
    )


class _Verdict(NamedTuple):
    """A person's typology verdict: score, level, best typology, reasons by language."""

    score: float
    level: str
    typology: str
    reasons: dict[str, tuple[str, ...]]


def _score_people(people: list[_Person]) -> list[_Verdict]:
    """Score ``people`` in one vectorised call; reasons (zh-CN and en) only for the medium
    and high ones (a low person has none to show)."""
    sc = scorer()
    x = sc.matrix([{k: float(v) for k, v in (p.signals or {}).items()} for p in people])
    scores, level, best = sc.score_matrix(x)
    top = scores[np.arange(len(people)), best].tolist()
    codes = [t.code for t in sc.config.typologies]
    none: dict[str, tuple[str, ...]] = {"zh-CN": (), "en": ()}
    out: list[_Verdict] = []
    for i, (b, lv) in enumerate(zip(best.tolist(), level.tolist(), strict=True)):
        reasons = {lang: sc.explain(x[i], b, lang=lang) for lang in ("zh-CN", "en")} if lv else none
        out.append(_Verdict(float(top[i]), LEVELS[lv], codes[b], reasons))
    return out


def _text_reasons(
    db: Session,
    people: list[_Person],
    typologies: list[str],
    evidence: dict[int, list[TextVerdict]],
) -> dict[int, dict[str, str]]:
    """For each person (medium or high) whose best typology has text evidence from the
    text model — in this batch or in their stored reports — the reason naming the type,
    probability and key phrases of the strongest such SMS (zh-CN and en), by person id."""
    wanted = {
        p.id: t
        for p, t in zip(people, typologies, strict=True)
        if p.signals.get(f"text_{t}", 0.0) > 0.0
    }
    if not wanted:
        return {}
    best: dict[int, TextVerdict] = {}

    def consider(person_id: int, verdict: TextVerdict) -> None:
        if verdict.type != wanted[person_id]:
            return
        current = best.get(person_id)
        if current is None or verdict.probability > current.probability:
            best[person_id] = verdict

    for person_id in wanted:
        for verdict in evidence.get(person_id, ()):
            consider(person_id, verdict)
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        for victim_id, payload in db.execute(
            select(Signal.victim_id, Signal.payload).where(
                Signal.victim_id.in_(ids[start : start + 500]), Signal.kind == "sms"
            )
        ):
            judged = (payload or {}).get("text_model")
            if isinstance(judged, dict) and judged.get("type") in wanted.values():
                consider(
                    int(victim_id),
                    TextVerdict(
                        type=str(judged["type"]),
                        probability=float(judged.get("probability", 0.0)),
                        keywords=tuple(str(k) for k in judged.get("keywords", ())),
                        model=str(judged.get("model", "")),
                    ),
                )
    out: dict[int, dict[str, str]] = {}
    for person_id, verdict in best.items():
        out[person_id] = {
            lang: translate(
                "antifraud.reason.text_model",
                lang,
                type=type_label(verdict.type, lang),
                probability=f"{verdict.probability:.0%}",
                keywords=("、" if lang == "zh-CN" else ", ").join(verdict.keywords) or "—",
            )
            for lang in ("zh-CN", "en")
        }
    return out


def _rescore(
    db: Session,
    people: list[_Person],
    *,
    now: datetime,
    actor: Actor,
    evidence: dict[int, list[TextVerdict]] | None = None,
) -> tuple[int, dict[int, FraudWarning], list[_Pending]]:
    """Score ``people`` in one call; raise or upgrade their warnings. How many were raised
    or upgraded, each person's open warning (by person id), and the audit records and
    events of those warnings, to be written last (the audit chain's lock is then held
    only from there to the commit, not across the batch's other writes).
    ``evidence``: the text model's verdicts on this batch's raw SMS, by person id."""
    pending: list[_Pending] = []
    if not people:
        return 0, {}, pending
    verdicts = _score_people(people)
    flagged = [(p, v.typology) for p, v in zip(people, verdicts, strict=True) if v.level != "low"]
    text_reasons = _text_reasons(
        db, [p for p, _ in flagged], [t for _, t in flagged], evidence or {}
    )
    policy: dict[str, dict[str, int]] | None = None
    router: _Router | None = None
    raised = 0
    created: list[tuple[FraudWarning, _TeamRow | None]] = []
    open_by_victim: dict[int, FraudWarning] = {}
    for w in db.scalars(
        select(FraudWarning).where(
            _among_ids(db, FraudWarning.victim_id, [p.id for p in people]),
            FraudWarning.status.in_(OPEN_WARNING_STATUSES),
        )
    ):
        open_by_victim[w.victim_id] = w
    for person, r_zh in zip(people, verdicts, strict=True):
        reasons = {lang: list(lines) for lang, lines in r_zh.reasons.items()}
        if person.id in text_reasons:
            for lang, line in text_reasons[person.id].items():
                reasons[lang].append(line)
        person.score = r_zh.score
        person.level = r_zh.level
        person.typology = r_zh.typology
        person.reasons = reasons
        if r_zh.level == "low":
            continue
        warning = open_by_victim.get(person.id)
        if warning is not None:
            upgraded = _level_up(r_zh.level, warning.level)
            warning.score = r_zh.score
            warning.typology = r_zh.typology
            warning.reasons = reasons
            if upgraded:
                warning.level = r_zh.level
                policy = policy or get_policy(db=db)
                _start_step(warning, warning.step, now, policy)
                raised += 1
                pending.append(
                    _raised_later(
                        actor,
                        warning,
                        audit.UPDATE,
                        {"level": warning.level, "typology": warning.typology},
                        reason="upgrade",
                        upgraded=True,
                    )
                )
            continue
        if router is None:
            router = _Router(db)
        team = router.route(person.jurisdiction_id)
        warning = FraudWarning(
            victim_id=person.id,
            jurisdiction_id=person.jurisdiction_id,
            level=r_zh.level,
            score=r_zh.score,
            typology=r_zh.typology,
            reasons=reasons,
            status="assigned" if team is not None else "new",
            team_id=team.id if team is not None else None,
            step="assess",
            step_started_at=now,
            created_at=now,
        )
        # Assessment and push are the machine's: done on ingest when a team was found.
        policy = policy or get_policy(db=db)
        _start_step(warning, "dissuade" if team is not None else "push", now, policy)
        db.add(warning)
        # One short INSERT each: a multi-row INSERT … RETURNING differs with every count
        # and is too long for the driver's statement cache (re-parsed in Python each time).
        db.flush()
        open_by_victim[person.id] = warning
        created.append((warning, team))
    for warning, team in created:
        raised += 1
        code = team.code if team is not None else None
        due = warning.due_at.isoformat() if warning.due_at else None
        pending.append(
            _raised_later(
                actor,
                warning,
                audit.CREATE,
                {"level": warning.level, "typology": warning.typology, "team": code, "due_at": due},
                team=code,
            )
        )
    return raised, open_by_victim, pending


def _raised_later(
    actor: Principal | str,
    warning: FraudWarning,
    action: str,
    detail: dict[str, Any],
    *,
    reason: str = "",
    team: str | None = None,
    upgraded: bool = False,
) -> _Pending:
    """A raised (or upgraded) warning's audit record and event, written after the batch's
    rows (so the advisory audit lock is held only until the commit)."""
    event = WarningRaised(
        warning_id=warning.id,
        level=warning.level,
        typology=warning.typology,
        team=team,
        upgraded=upgraded,
    )
    entry = audit.Entry(
        actor=actor,
        action=action,
        entity="antifraud_warning",
        entity_id=warning.id,
        reason=reason,
        detail=detail,
    )
    return entry, event


# ---------------------------------------------------------------------------- warnings


def get_warning(
    *, db: Session, warning_id: int, principal: Principal | None = None
) -> FraudWarning:
    """A warning the caller may see (404 on ``warning_id`` otherwise)."""
    warning = db.get(FraudWarning, warning_id)
    if warning is None or (principal is not None and not principal.sees(warning.jurisdiction_id)):
        raise NotFound("antifraud.error.warning_not_found", field="warning_id", id=warning_id)
    return warning


def _open(db: Session, warning_id: int, principal: Principal | None) -> FraudWarning:
    warning = get_warning(db=db, warning_id=warning_id, principal=principal)
    if warning.status == "closed":
        raise Conflict("antifraud.error.warning_closed", field="status", id=warning.id)
    return warning


def list_warnings(
    *,
    db: Session,
    principal: Principal,
    scope: QueueScope = "team",
    team_id: int | None = None,
    status: StatusFilter = "open",
    level: str | None = None,
    escalated: bool | None = None,
    limit: int = 200,
) -> list[FraudWarning]:
    """The queue, soonest deadline first, always within the caller's jurisdictions.

    ``team`` (the default): for a caller on at least one team (``antifraud_team_members``),
    the warnings routed to their teams; for a caller on no team, every warning of their
    jurisdictions (as before teams had members). ``mine``: assigned to the caller. ``all``:
    every warning of their jurisdictions. ``team_id`` narrows any scope to one team."""
    stmt = _scope(select(FraudWarning), FraudWarning.jurisdiction_id, principal)
    if scope == "mine":
        stmt = stmt.where(FraudWarning.assignee == principal.username)
    elif scope == "team":
        teams = user_team_ids(db=db, username=principal.username)
        if teams:
            stmt = stmt.where(FraudWarning.team_id.in_(teams))
    if team_id is not None:
        stmt = stmt.where(FraudWarning.team_id == team_id)
    if status == "open":
        stmt = stmt.where(FraudWarning.status.in_(OPEN_WARNING_STATUSES))
    elif status == "closed":
        stmt = stmt.where(FraudWarning.status == "closed")
    if level is not None:
        stmt = stmt.where(FraudWarning.level == level)
    if escalated is not None:
        stmt = stmt.where(FraudWarning.escalated.is_(escalated))
    stmt = stmt.order_by(FraudWarning.due_at.is_(None), FraudWarning.due_at, FraudWarning.id)
    return list(db.scalars(stmt.limit(limit)))


def _team_ref(db: Session, team_id: int | None) -> TeamRef | None:
    team = db.get(Team, team_id) if team_id is not None else None
    return TeamRef(id=team.id, code=team.code, name=team.name) if team is not None else None


def warning_brief(*, db: Session, warning: FraudWarning) -> WarningBrief:
    """A queue row with the countdown."""
    victim = db.get(PotentialVictim, warning.victim_id)
    return WarningBrief(
        id=warning.id,
        level=warning.level,
        score=warning.score,
        typology=warning.typology,
        status=warning.status,
        step=warning.step,
        team=_team_ref(db, warning.team_id),
        assignee=warning.assignee,
        phone_masked=victim.phone_masked if victim is not None else "",
        jurisdiction_id=warning.jurisdiction_id,
        created_at=warning.created_at,
        due_at=warning.due_at,
        seconds_left=seconds_left(warning.due_at, clock.now()),
        breached=warning.breached,
        escalated=warning.escalated,
        reasons=warning.reasons,
    )


def stop_payment_read(sp: StopPayment) -> StopPaymentRead:
    """A stop-payment as answered (the account masked in JSON unless revealed)."""
    return StopPaymentRead(
        id=sp.id,
        warning_id=sp.warning_id,
        bank=sp.bank,
        account=sp.account,
        amount=sp.amount,
        status=sp.status,
        requested_at=sp.requested_at,
        answered_at=sp.answered_at,
        hold_until=sp.hold_until,
        renewals=sp.renewals,
        bank_ref=sp.bank_ref,
        reason=sp.reason,
    )


def warning_read(*, db: Session, warning: FraudWarning) -> WarningRead:
    """A warning in full (the phone number masked in JSON unless revealed)."""
    victim = db.get(PotentialVictim, warning.victim_id)
    assert victim is not None
    contacts = db.scalars(
        select(ContactAttempt)
        .where(ContactAttempt.warning_id == warning.id)
        .order_by(ContactAttempt.at, ContactAttempt.id)
    )
    holds = db.scalars(
        select(StopPayment).where(StopPayment.warning_id == warning.id).order_by(StopPayment.id)
    )
    brief = warning_brief(db=db, warning=warning)
    return WarningRead(
        **brief.model_dump(),
        phone=victim.phone,
        victim_id=victim.id,
        signals=victim.signals,
        first_contact_at=warning.first_contact_at,
        closed_at=warning.closed_at,
        outcome=warning.outcome,
        note=warning.note,
        contacts=[
            ContactRead(
                id=c.id, channel=c.channel, at=c.at, outcome=c.outcome, note=c.note, actor=c.actor
            )
            for c in contacts
        ],
        stop_payments=[stop_payment_read(sp) for sp in holds],
    )


def _audit(db: Session, actor: Actor, warning: FraudWarning, reason: str, **detail: Any) -> None:
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="antifraud_warning",
        entity_id=warning.id,
        reason=reason,
        detail=detail,
    )


def record_contact(
    *,
    db: Session,
    warning_id: int,
    contact_in: ContactCreate,
    actor: Actor,
    principal: Principal | None = None,
) -> ContactAttempt:
    """Record one attempt to reach the person. The first sets ``first_contact_at``; a
    ``dissuaded`` outcome moves the warning to the feedback step, ``refused`` marks it
    refused (still open: try again, visit or stop the payment). 409 on a closed warning."""
    warning = _open(db, warning_id, principal)
    now = clock.now()
    contact = ContactAttempt(
        warning_id=warning.id,
        channel=contact_in.channel,
        at=now,
        outcome=contact_in.outcome,
        note=contact_in.note,
        actor=actor_name(actor),
    )
    db.add(contact)
    if warning.first_contact_at is None:
        warning.first_contact_at = now
    if warning.assignee is None and isinstance(actor, Principal):
        warning.assignee = actor.username
    if contact_in.outcome == "dissuaded":
        warning.status = "dissuaded"
        _start_step(warning, "feedback", now, get_policy(db=db))
    elif contact_in.outcome == "refused":
        warning.status = "refused"
    elif warning.status in ("new", "assigned"):
        warning.status = "contacting"
    db.flush()
    _audit(db, actor, warning, "contact", channel=contact.channel, outcome=contact.outcome)
    record(
        db,
        ContactRecorded(warning_id=warning.id, channel=contact.channel, outcome=contact.outcome),
    )
    return contact


def escalate_visit(
    *,
    db: Session,
    warning_id: int,
    visit_in: VisitCreate,
    actor: Actor,
    principal: Principal | None = None,
) -> FraudWarning:
    """Ask for an in-person visit: publishes ``antifraud.visit.requested`` (place and
    urgency; never the number) for the dispatch desk to task a patrol unit."""
    warning = _open(db, warning_id, principal)
    victim = db.get(PotentialVictim, warning.victim_id)
    assert victim is not None
    now = clock.now()
    place = db.get(Jurisdiction, warning.jurisdiction_id) if warning.jurisdiction_id else None
    warning.status = "visit"
    _start_step(warning, "dissuade", now, get_policy(db=db))
    if visit_in.note:
        warning.note = visit_in.note
    db.flush()
    _audit(db, actor, warning, "visit", urgency=visit_in.urgency)
    record(
        db,
        VisitRequested(
            warning_id=warning.id,
            jurisdiction=place.code if place is not None else None,
            lon=victim.lon,
            lat=victim.lat,
            urgency=visit_in.urgency,
            level=warning.level,
            typology=warning.typology,
            note=visit_in.note,
        ),
    )
    return warning


def close_warning(
    *,
    db: Session,
    warning_id: int,
    close_in: WarningClose,
    actor: Actor,
    principal: Principal | None = None,
) -> FraudWarning:
    """Close a warning with its outcome (quick feedback done). 409 if already closed."""
    warning = _open(db, warning_id, principal)
    warning.status = "closed"
    warning.outcome = close_in.outcome
    warning.closed_at = clock.now()
    warning.due_at = None
    if close_in.note:
        warning.note = close_in.note
    db.flush()
    _audit(db, actor, warning, "close", outcome=close_in.outcome)
    record(db, WarningClosed(warning_id=warning.id, outcome=close_in.outcome))
    return warning


# ---------------------------------------------------------------------------- stop-payment


def request_stop_payment(
    *,
    db: Session,
    warning_id: int,
    stop_in: StopPaymentCreate,
    secret: str,
    actor: Actor,
    principal: Principal | None = None,
) -> StopPayment:
    """Draft a stop-payment to the receiving bank's partner API (quick stop-payment step).
    422 on ``bank`` when no live partner key speaks for that bank; 409 on a closed warning."""
    warning = _open(db, warning_id, principal)
    bank = db.scalars(
        select(ApiKey.id).where(ApiKey.partner == stop_in.bank, ApiKey.revoked_at.is_(None))
    ).first()
    if bank is None:
        raise ValidationFailed("antifraud.error.unknown_bank", field="bank", bank=stop_in.bank)
    now = clock.now()
    sp = StopPayment(
        warning_id=warning.id,
        bank=stop_in.bank,
        account=stop_in.account,
        account_hash=keyed_hash(stop_in.account, secret),
        account_masked=mask_bank_card(stop_in.account),
        amount=stop_in.amount,
        status="requested",
        requested_at=now,
        renewals=0,
        reason=stop_in.note,
        actor=actor_name(actor),
    )
    db.add(sp)
    warning.status = "stop_payment"
    _start_step(warning, "stop_payment", now, get_policy(db=db))
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="antifraud_stop_payment",
        entity_id=sp.id,
        detail={
            "warning_id": warning.id,
            "bank": sp.bank,
            "account": sp.account_masked,
            "amount": sp.amount,
        },
    )
    record(
        db,
        StopPaymentRequested(
            stop_payment_id=sp.id, warning_id=warning.id, bank=sp.bank, amount=sp.amount
        ),
    )
    return sp


def get_stop_payment(
    *, db: Session, stop_payment_id: int, principal: Principal | None = None
) -> StopPayment:
    """A stop-payment of a warning the caller may see (404 on ``stop_payment_id``)."""
    sp = db.get(StopPayment, stop_payment_id)
    if sp is not None and principal is not None:
        warning = db.get(FraudWarning, sp.warning_id)
        if warning is None or not principal.sees(warning.jurisdiction_id):
            sp = None
    if sp is None:
        raise NotFound(
            "antifraud.error.stop_payment_not_found", field="stop_payment_id", id=stop_payment_id
        )
    return sp


def _changed(db: Session, actor: Actor, sp: StopPayment, reason: str) -> None:
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="antifraud_stop_payment",
        entity_id=sp.id,
        reason=reason,
        detail={"status": sp.status, "renewals": sp.renewals},
    )
    record(
        db,
        StopPaymentChanged(
            stop_payment_id=sp.id,
            warning_id=sp.warning_id,
            bank=sp.bank,
            status=sp.status,
            renewals=sp.renewals,
        ),
    )


def renew_stop_payment(
    *, db: Session, stop_payment_id: int, actor: Actor, principal: Principal | None = None
) -> StopPayment:
    """Renew a live hold by another 48 hours, at most twice (409 on ``renewals`` after
    that; 409 on ``status`` for a hold that is not live — expired, released, ...)."""
    sp = get_stop_payment(db=db, stop_payment_id=stop_payment_id, principal=principal)
    now = clock.now()
    if sp.status not in HOLDING_STATUSES or sp.hold_until is None or sp.hold_until < now:
        raise Conflict("antifraud.error.hold_not_live", field="status", status=sp.status)
    if sp.renewals >= MAX_RENEWALS:
        raise Conflict("antifraud.error.renewals_exhausted", field="renewals", max=MAX_RENEWALS)
    sp.renewals += 1
    sp.hold_until = sp.hold_until + HOLD
    sp.status = "renewed"
    db.flush()
    _changed(db, actor, sp, "renew")
    return sp


def bank_stop_payments(
    *, db: Session, principal: Principal, status: str | None = None, limit: int = 500
) -> list[StopPayment]:
    """The calling bank's own stop-payments (none for other partners), newest first."""
    code = partner_code(db=db, principal=principal)
    if code is None:
        return []
    stmt = select(StopPayment).where(StopPayment.bank == code)
    if status is not None:
        stmt = stmt.where(StopPayment.status == status)
    return list(db.scalars(stmt.order_by(StopPayment.id.desc()).limit(limit)))


_ANSWERS: Final = {
    "held": ("requested",),
    "rejected": ("requested",),
    "frozen": HOLDING_STATUSES,
    "released": (*HOLDING_STATUSES, "frozen"),
}


def answer_stop_payment(
    *, db: Session, principal: Principal, stop_payment_id: int, answer: BankAnswer
) -> StopPayment:
    """A bank's answer through its partner API: ``held`` (the 48-hour hold starts),
    ``rejected``, then ``frozen`` or ``released``. Another bank's request is a 404, as if
    it did not exist; an answer that does not fit the state is a 409 on ``decision``;
    repeating the current state is idempotent."""
    code = partner_code(db=db, principal=principal)
    sp = db.get(StopPayment, stop_payment_id)
    if sp is None or code is None or sp.bank != code:
        raise NotFound(
            "antifraud.error.stop_payment_not_found", field="stop_payment_id", id=stop_payment_id
        )
    if sp.status == answer.decision:
        return sp  # a bank retrying its call
    if sp.status not in _ANSWERS[answer.decision]:
        raise Conflict(
            "antifraud.error.answer_not_allowed",
            field="decision",
            decision=answer.decision,
            status=sp.status,
        )
    now = clock.now()
    sp.status = answer.decision
    sp.answered_at = now
    if answer.bank_ref:
        sp.bank_ref = answer.bank_ref
    if answer.reason:
        sp.reason = answer.reason
    if answer.decision == "held":
        sp.hold_until = now + HOLD
    db.flush()
    _changed(db, principal, sp, f"bank:{answer.decision}")
    return sp


# ---------------------------------------------------------------------------- the sweep


def sweep(*, db: Session, now: datetime | None = None, actor: Actor = "system") -> SweepReport:
    """Flag every open warning past its step's deadline (escalated to a supervisor, once
    per step: flag, audit, event) and expire every hold past ``hold_until``. Deadlines are
    rows, so a restart loses none."""
    at = now or clock.now()
    escalated: list[int] = []
    for warning in db.scalars(
        select(FraudWarning)
        .where(
            FraudWarning.status.in_(OPEN_WARNING_STATUSES),
            FraudWarning.due_at < at,
            FraudWarning.breached.is_(False),
        )
        .order_by(FraudWarning.id)
    ):
        assert warning.due_at is not None
        warning.breached = True
        warning.escalated = True
        warning.escalated_at = at
        overdue = (at - warning.due_at).total_seconds()
        escalated.append(warning.id)
        _audit(db, actor, warning, "sla_breach", step=warning.step, overdue_s=overdue)
        record(
            db,
            WarningEscalated(
                warning_id=warning.id, step=warning.step, level=warning.level, overdue_s=overdue
            ),
        )
    expired: list[int] = []
    for sp in db.scalars(
        select(StopPayment)
        .where(StopPayment.status.in_(HOLDING_STATUSES), StopPayment.hold_until < at)
        .order_by(StopPayment.id)
    ):
        sp.status = "expired"
        expired.append(sp.id)
        _changed(db, actor, sp, "expired")
    db.flush()
    return SweepReport(escalated=escalated, expired=expired)


async def run_sweep(ctx: Context) -> SweepReport:
    """The desk's periodic job: one sweep in its own session, committed."""

    def once() -> SweepReport:
        with ctx.db.session() as session:
            return sweep(db=session)

    return await asyncio.to_thread(once)


# ---------------------------------------------------------------------------- dashboards


def dashboards(
    *, db: Session, principal: Principal | None = None, since: datetime | None = None
) -> Dashboard:
    """Warnings per day by level and typology, time to first contact, dissuasion success
    rate and money intercepted — computed from the records the caller may see."""
    start = since or (clock.now() - timedelta(days=30))
    warnings = list(
        db.scalars(
            _scope(
                select(FraudWarning).where(FraudWarning.created_at >= start),
                FraudWarning.jurisdiction_id,
                principal,
            )
        )
    )
    per_day: Counter[tuple[str, str, str]] = Counter(
        (w.created_at.date().isoformat(), w.level, w.typology) for w in warnings
    )
    firsts = [
        (w.first_contact_at - w.created_at).total_seconds()
        for w in warnings
        if w.first_contact_at is not None
    ]
    ids = [w.id for w in warnings]
    dissuaded = sum(1 for w in warnings if w.outcome == "dissuaded" or w.status == "dissuaded")
    refused = sum(1 for w in warnings if w.outcome == "refused" or w.status == "refused")
    holds: list[StopPayment] = []
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        holds.extend(db.scalars(select(StopPayment).where(StopPayment.warning_id.in_(chunk))))
    intercepted = sum(sp.amount for sp in holds if sp.status in (*HOLDING_STATUSES, "frozen"))
    decided = dissuaded + refused
    return Dashboard(
        since=start,
        warnings=len(warnings),
        per_day=[
            DayCount(day=d, level=lv, typology=t, count=n)
            for (d, lv, t), n in sorted(per_day.items())
        ],
        by_level=dict(Counter(w.level for w in warnings)),
        by_typology=dict(Counter(w.typology for w in warnings)),
        first_contact_median_s=statistics.median(firsts) if firsts else None,
        first_contact_mean_s=statistics.fmean(firsts) if firsts else None,
        first_contacts=len(firsts),
        dissuaded=dissuaded,
        refused=refused,
        dissuasion_rate=dissuaded / decided if decided else None,
        escalated=sum(1 for w in warnings if w.escalated),
        money_intercepted=float(intercepted),
        stop_payments=dict(Counter(sp.status for sp in holds)),
    )
