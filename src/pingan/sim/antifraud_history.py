"""Simulated anti-fraud history: the months before the demo starts, so year-on-year figures
have a last year to compare with.

**This history is simulated, not real.** From 1 January of the year before ``until`` to
``until``, fraud victims arrive day by day (a seeded Poisson draw); each plays a campaign
script of the live generator (:func:`pingan.sim.generators.antifraud._script`: calls,
content, apps and, for most, a transfer to a mule-like account) through the desk's own
:func:`~pingan.antifraud.service.ingest_signals` with the process clock frozen at that
moment, so the warnings, reports and their times are made by the desk exactly as live
ones. Then the simulated team and bank act through the desk's service functions: a
stop-payment for part of the money moved, the bank's hold and then a freeze (money
intercepted) or a release, and the warning closed with its outcome a day later.

Two sets of parameters, one per year, stand for a desk that improves: this year slightly
fewer victims reach the transfer and more stop-payments are asked and frozen
(:data:`YEARS`). The year-on-year figures are whatever these seeded draws produce —
computed from the records, not written in. Events recorded in the outbox while the history
is made are written already published (:func:`pingan.core.outbox.recording_history`): they
are the past, not news for the live feed, while the live platform's own events (the
backfill runs beside it, in its own process, after the page is up) are relayed as usual.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select

from pingan.antifraud import service as antifraud
from pingan.antifraud.models import Signal
from pingan.antifraud.schemas import BankAnswer, ContactCreate, StopPaymentCreate, WarningClose
from pingan.city import service as city_service
from pingan.city.models import District
from pingan.core import audit, clock, outbox
from pingan.core.auth import service as auth
from pingan.core.auth.models import ApiKey, Jurisdiction
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import ApiKeyCreate
from pingan.core.db import Database
from pingan.sim.generators.antifraud import BANK, OPERATOR, PLATFORM, TYPOLOGIES, _script

PREFIX: Final = "hist-"
ACTOR: Final = Principal.system("sim:antifraud-history")
HISTORY_ENTITY: Final = "sim_antifraud_history"
"""The audit entity of a backfill's completion record."""


@dataclass(frozen=True, slots=True)
class YearParams:
    """How one simulated year behaves."""

    victims_per_day: float
    """Mean people a day whom a campaign reaches far enough to raise a warning."""
    transfer_share: float
    """Share of them who send money before the desk reaches them."""
    stop_share: float
    """Share of money-moving warnings for which a stop-payment is asked in time."""
    freeze_share: float
    """Share of holds the bank freezes (the rest are released: the money is gone)."""


YEARS: Final = {
    "previous": YearParams(
        victims_per_day=3.0, transfer_share=0.55, stop_share=0.35, freeze_share=0.6
    ),
    "current": YearParams(
        victims_per_day=3.0, transfer_share=0.52, stop_share=0.5, freeze_share=0.75
    ),
}


@dataclass
class HistoryReport:
    """What a backfill made."""

    days: int = 0
    people: int = 0
    warnings: int = 0
    stop_payments: int = 0
    frozen: int = 0
    skipped: bool = False
    resumed: bool = False
    """An earlier backfill had stopped part-way: its people were replayed (the same seeded
    draws; stored reports answer as duplicates, finished warnings are left as they are)."""


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _centre(geometry: str) -> tuple[float, float] | None:
    try:
        geo = json.loads(geometry)
        coords = geo["coordinates"]
        ring = coords[0][0] if geo["type"] == "MultiPolygon" else coords[0]
        return (
            float(sum(p[0] for p in ring) / len(ring)),
            float(sum(p[1] for p in ring) / len(ring)),
        )
    except (ValueError, KeyError, IndexError, TypeError, ZeroDivisionError):
        return None


def has_history(*, db: Database) -> bool:
    """Whether a backfill ran to its end on this database (its audited completion record).
    One stopped part-way (the process killed) is not history yet: the next backfill with
    the same seed resumes it."""
    with db.session() as s:
        found = s.scalar(
            select(func.count())
            .select_from(audit.AuditRecord)
            .where(audit.AuditRecord.entity == HISTORY_ENTITY)
        )
    return bool(found)


def _started(db: Database) -> bool:
    """Whether an earlier backfill stored reports (complete or not)."""
    with db.session() as s:
        found = s.scalar(
            select(func.count())
            .select_from(Signal)
            .where(Signal.partner_signal_id.like(f"{PREFIX}%"))
        )
    return bool(found)


def _homes(db: Database, city: str) -> list[tuple[str, float, float]]:
    with db.session() as s:
        found = city_service.get_city_by_name(session=s, name=city)
        antifraud.seed_demo_teams(db=s, city_id=found.id, actor=ACTOR)
        partners = set(s.scalars(select(ApiKey.partner).where(ApiKey.revoked_at.is_(None))))
        for code in (OPERATOR, PLATFORM, BANK):
            if code not in partners:
                auth.create_api_key(db=s, key_in=ApiKeyCreate(name=code, partner=code), actor=ACTOR)
        homes: list[tuple[str, float, float]] = []
        for d in s.scalars(select(District).where(District.city_id == found.id)):
            place = s.get(Jurisdiction, d.jurisdiction_id) if d.jurisdiction_id else None
            centre = _centre(d.geometry)
            if place is not None and centre is not None:
                homes.append((place.code, *centre))
    return homes


def backfill(
    *,
    db: Database,
    secret: str,
    city: str,
    until: datetime,
    seed: int = 20251231,
    since: datetime | None = None,
    years: dict[str, YearParams] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> HistoryReport:
    """Simulate the desk's history from ``since`` (default 1 January of the year before
    ``until``) to ``until``; nothing when a backfill already ran to its end (``skipped``).

    A backfill stopped part-way (the process killed) is resumed by the next one with the
    same seed: the draws are replayed from the start, reports already stored answer as
    duplicates with their warning, a warning already closed is left as it is and one still
    open gets its follow-up. The end is recorded in the audit trail (entity
    :data:`HISTORY_ENTITY`), which is what :func:`has_history` looks for."""
    report = HistoryReport()
    if has_history(db=db):
        report.skipped = True
        return report
    report.resumed = _started(db)
    params = years or YEARS
    start = since or datetime(until.year - 1, 1, 1, tzinfo=UTC)
    homes = _homes(db, city)
    if not homes:
        return report
    rng = random.Random(seed)
    kinds = [t for t, w in TYPOLOGIES for _ in range(w)]
    bank_key = None
    with db.session() as s:
        bank_key = s.scalars(
            select(ApiKey.id).where(ApiKey.partner == BANK, ApiKey.revoked_at.is_(None))
        ).first()
    bank = Principal(username=BANK, roles=frozenset({"partner"}), api_key_id=bank_key)
    counter = 0
    day = start
    total = (until - start).days + 1
    with outbox.recording_history():
        while day < until:
            year = params["current" if day.year == until.year else "previous"]
            report.days += 1
            for _ in range(_poisson(rng, year.victims_per_day)):
                at = day + timedelta(seconds=rng.uniform(7 * 3600, 23 * 3600))
                if at >= until:
                    continue
                code, lon, lat = rng.choice(homes)
                phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
                typology = rng.choice(kinds)
                moves = rng.random() < year.transfer_share
                items: list[dict[str, Any]] = []
                for minutes, partner, fields in _script(typology, moves, rng):
                    counter += 1
                    items.append(
                        {
                            "id": f"{PREFIX}{seed}-{counter}",
                            "phone": phone,
                            "jurisdiction": code,
                            "lon": lon,
                            "lat": lat,
                            "_partner": partner,
                            "_minutes": minutes,
                            **fields,
                        }
                    )
                report.people += 1
                _one_person(db, secret, items, at, moves, year, rng, bank, report)
            day += timedelta(days=1)
            if progress is not None:
                progress(report.days, total)
        with db.session() as s:
            audit.record(
                s,
                actor=ACTOR,
                action=audit.CREATE,
                entity=HISTORY_ENTITY,
                entity_id=seed,
                reason="simulated history (not real records)",
                detail={
                    "since": start.isoformat(),
                    "until": until.isoformat(),
                    "people": report.people,
                    "warnings": report.warnings,
                    "stop_payments": report.stop_payments,
                    "frozen": report.frozen,
                    "resumed": report.resumed,
                },
            )
    return report


def _one_person(
    db: Database,
    secret: str,
    items: list[dict[str, Any]],
    at: datetime,
    moves: bool,
    year: YearParams,
    rng: random.Random,
    bank: Principal,
    report: HistoryReport,
) -> None:
    # One batch per person, at the time of the script's last step (one call, not one per
    # report: the history only needs the warning, its reports and their day).
    by_partner: dict[str, list[dict[str, Any]]] = {}
    last = at
    for item in items:
        by_partner.setdefault(item.pop("_partner"), []).append(item)
        last = max(last, at + timedelta(minutes=float(item.pop("_minutes"))))
    sent = sum(float(i["amount"]) for i in items if i["kind"] == "transfer")
    warning_id: int | None = None
    with db.session() as s, clock.frozen(last):
        for partner, batch in by_partner.items():
            result = antifraud.ingest_signals(
                db=s,
                partner=partner,
                items=batch,
                secret=secret,
                actor=Principal.system(f"partner:{partner}"),
            )
            warning_id = result.results[-1].warning_id or warning_id
    if warning_id is None:
        return
    report.warnings += 1
    # Every draw first, whatever the database holds, so a resumed backfill stays in step.
    stop = moves and sent > 0 and rng.random() < year.stop_share
    asked_after = timedelta(minutes=rng.uniform(10, 60)) if stop else timedelta(0)
    frozen = stop and rng.random() < year.freeze_share
    report.stop_payments += stop
    report.frozen += frozen
    _follow_up(
        db, secret, warning_id, sent, last, bank, stop=stop, asked_after=asked_after,
        frozen=frozen, moves=moves,
    )  # fmt: skip


def _follow_up(
    db: Database,
    secret: str,
    warning_id: int,
    sent: float,
    last: datetime,
    bank: Principal,
    *,
    stop: bool,
    asked_after: timedelta,
    frozen: bool,
    moves: bool,
) -> None:
    """The simulated team and bank on one warning, in one transaction: a stop-payment held
    then frozen or released, or a dissuading call; the warning closed a day and a half
    later. Nothing when the warning is closed already (a resumed backfill)."""
    with db.session() as s:
        if antifraud.get_warning(db=s, warning_id=warning_id).status == "closed":
            return
        if stop:
            with clock.frozen(last + asked_after):
                sp = antifraud.request_stop_payment(
                    db=s,
                    warning_id=warning_id,
                    stop_in=StopPaymentCreate(
                        bank=BANK, account=f"62220{warning_id:014d}", amount=sent
                    ),
                    secret=secret,
                    actor=ACTOR,
                )
            with clock.frozen(last + timedelta(minutes=90)):
                antifraud.answer_stop_payment(
                    db=s,
                    principal=bank,
                    stop_payment_id=sp.id,
                    answer=BankAnswer(decision="held", bank_ref=f"HIST-{sp.id}"),
                )
            with clock.frozen(last + timedelta(hours=30)):
                antifraud.answer_stop_payment(
                    db=s,
                    principal=bank,
                    stop_payment_id=sp.id,
                    answer=BankAnswer(decision="frozen" if frozen else "released"),
                )
            outcome = "intercepted" if frozen else "lost"
        elif moves and sent > 0:
            outcome = "lost"
        else:
            with clock.frozen(last + timedelta(minutes=30)):
                antifraud.record_contact(
                    db=s,
                    warning_id=warning_id,
                    contact_in=ContactCreate(channel="call_96110", outcome="dissuaded"),
                    actor=ACTOR,
                )
            outcome = "dissuaded"
        with clock.frozen(last + timedelta(hours=36)):
            antifraud.close_warning(
                db=s,
                warning_id=warning_id,
                close_in=WarningClose(outcome=outcome),
                actor=ACTOR,
            )
