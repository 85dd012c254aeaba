"""Anti-fraud generator: fraud campaigns against a simulated population, and the desk's answer.

At the start the demo city's warning-dissuasion teams are seeded (179, over its districts),
three partner systems are registered if missing (an operator, a platform and a bank, each
with a partner key) and a population of residents gets mobile numbers and homes in the
city's districts. Then fraud *campaigns* arrive as a Poisson process: each picks a typology
(冒充公检法, 虚假投资理财, 刷单返利, 冒充客服, ...) and a handful of residents, and plays its
script against each over the next hours — calls from listed numbers, fraud content, an app
installed, and for some the transfer to a mule account. Every step is a partner signal
through :func:`pingan.antifraud.service.ingest_signals`, so warnings are raised, graded and
routed by the desk itself. Background noise (a single call from a listed number) stays low.

The simulated team works its queue every few minutes: it calls each open warning (96110);
about 40 % of the answered calls are refused, a dissuasion succeeds only after several
contacts, a high-level warning refused twice is escalated to a visit (an event for
dispatch), money already sent gets a stop-payment that the simulated bank holds, renews or
freezes, and a dissuaded person's script stops. The desk's dashboards are computed from
these records.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pingan.antifraud import service as antifraud
from pingan.antifraud.models import PotentialVictim, StopPayment
from pingan.antifraud.schemas import (
    BankAnswer,
    ContactCreate,
    Outcome,
    StopPaymentCreate,
    VisitCreate,
    WarningClose,
)
from pingan.city import service as city_service
from pingan.city.models import District
from pingan.core.auth import service as auth
from pingan.core.auth.models import ApiKey, Jurisdiction
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import ApiKeyCreate
from pingan.core.errors import PinganError
from pingan.core.privacy import normalise_mobile
from pingan.sim.registry import register

if TYPE_CHECKING:
    from pingan.sim.runner import Simulation

log = logging.getLogger(__name__)

RESIDENTS = 600
CAMPAIGNS_PER_DAY = 30
TARGETS = (2, 8)
"""Residents a campaign reaches (uniform, inclusive)."""
NOISE_PER_DAY = 120
"""Single calls from listed numbers that lead nowhere (stay low)."""
TEAM_ROUND_S = 300.0
"""The simulated team works its queue every five minutes."""
REFUSE_SHARE = 0.4
"""Share of answered calls in which the person refuses to listen."""
NO_ANSWER_SHARE = 0.25
DISSUADE_AFTER = (2, 4)
"""Contacts a person needs before being dissuaded (uniform, inclusive)."""
TRANSFER_SHARE = 0.35
"""Share of targets who send money before the desk reaches them."""
OPERATOR, PLATFORM, BANK = "sim-operator", "sim-platform", "sim-bank"
ACTOR = Principal.system("sim:antifraud")
MEMBER = Principal.system("sim:antifraud-team")

Step = tuple[float, str, dict[str, Any]]
"""Minutes after the campaign starts, partner, signal fields (without id and phone)."""


def _script(typology: str, transfers: bool, rng: Any) -> list[Step]:
    """The signals a campaign of ``typology`` produces against one person."""
    amount = float(rng.choice([3000, 8000, 20000, 48000, 90000]))
    mule = {
        "kind": "transfer",
        "amount": amount,
        "account": f"62220{rng.randrange(10**13, 10**14)}",
        "bank": BANK,
        "payee_fanin_24h": rng.randint(8, 40),
        "flagged": rng.random() < 0.5,
        "new_payee": True,
    }
    police = {"kind": "call", "caller_flag": "police_impersonation"}
    steps: list[Step]
    if typology == "police_impersonation":
        steps = [
            (0, OPERATOR, {**police, "duration_s": rng.uniform(60, 900)}),
            (12, OPERATOR, {**police, "duration_s": rng.uniform(60, 900)}),
            (15, OPERATOR, {"kind": "sms", "fraud_type": typology, "probability": 0.9}),
            (40, PLATFORM, {"kind": "app", "app_kind": "remote", "app_name": "屏幕共享"}),
            (70, OPERATOR, {**police, "duration_s": rng.uniform(300, 1800)}),
        ]
    elif typology in ("investment", "loan_credit"):
        steps = [
            (0, OPERATOR, {"kind": "sms", "fraud_type": typology, "probability": 0.85}),
            (60, PLATFORM, {"kind": "app", "app_kind": "finance", "app_name": "理财助手"}),
            (120, OPERATOR, {"kind": "sms", "fraud_type": typology, "probability": 0.95}),
        ]
    elif typology == "fake_customer_service":
        steps = [
            (0, OPERATOR, {"kind": "call", "caller_flag": "fraud", "duration_s": 700}),
            (10, OPERATOR, {"kind": "sms", "fraud_type": typology, "probability": 0.9}),
            (20, PLATFORM, {"kind": "app", "app_kind": "remote", "app_name": "会议"}),
        ]
    else:  # task_rebate, romance, acquaintance_impersonation: content, then small transfers
        steps = [
            (0, PLATFORM, {"kind": "sms", "fraud_type": typology, "probability": 0.9}),
            (
                90,
                BANK,
                {
                    "kind": "transfer",
                    "amount": 1500.0,
                    "account": mule["account"],
                    "new_payee": True,
                },
            ),
            (150, PLATFORM, {"kind": "sms", "fraud_type": typology, "probability": 0.95}),
        ]
    if transfers:
        steps.append((steps[-1][0] + rng.uniform(20, 120), BANK, mule))
    return steps


TYPOLOGIES = (
    ("police_impersonation", 4),
    ("investment", 3),
    ("task_rebate", 3),
    ("fake_customer_service", 2),
    ("loan_credit", 2),
    ("romance", 1),
    ("acquaintance_impersonation", 1),
)


@dataclass
class _Resident:
    phone: str
    jurisdiction: str
    lon: float
    lat: float
    dissuaded: bool = False


@dataclass
class _Case:
    contacts: int = 0
    refusals: int = 0
    needed: int = 3
    visit: bool = False


@dataclass
class _World:
    sim: Simulation
    residents: list[_Resident]
    by_key: dict[str, _Resident] = field(default_factory=dict)
    cases: dict[int, _Case] = field(default_factory=dict)
    counter: int = 0

    def next_id(self) -> str:
        """A fresh partner signal id."""
        self.counter += 1
        return f"sim-{self.sim.scenario.seed}-{self.counter}"


def _centre(geometry: str) -> tuple[float, float] | None:
    try:
        geo = json.loads(geometry)
        coords = geo["coordinates"]
        ring = coords[0][0] if geo["type"] == "MultiPolygon" else coords[0]
        lon = sum(p[0] for p in ring) / len(ring)
        lat = sum(p[1] for p in ring) / len(ring)
    except (ValueError, KeyError, IndexError, TypeError, ZeroDivisionError):
        return None
    return float(lon), float(lat)


def _setup(sim: Simulation) -> _World | None:
    assert sim.ctx is not None
    rng = sim.rng
    with sim.ctx.db.session() as session:
        try:
            city = city_service.get_city_by_name(session=session, name=sim.scenario.city)
        except PinganError:
            log.warning("antifraud generator: no city %r; it stays idle", sim.scenario.city)
            return None
        antifraud.seed_demo_teams(db=session, city_id=city.id, actor=ACTOR)
        partners = set(session.scalars(select(ApiKey.partner).where(ApiKey.revoked_at.is_(None))))
        for code in (OPERATOR, PLATFORM, BANK):
            if code not in partners:
                auth.create_api_key(
                    db=session, key_in=ApiKeyCreate(name=code, partner=code), actor=ACTOR
                )
        homes: list[tuple[str, float, float]] = []
        for d in session.scalars(select(District).where(District.city_id == city.id)):
            place = session.get(Jurisdiction, d.jurisdiction_id) if d.jurisdiction_id else None
            centre = _centre(d.geometry)
            if place is not None and centre is not None:
                homes.append((place.code, *centre))
        if not homes and city.jurisdiction_id is not None:
            place = session.get(Jurisdiction, city.jurisdiction_id)
            if place is not None:
                homes.append((place.code, 0.0, 0.0))
    if not homes:
        log.warning("antifraud generator: no district with a jurisdiction; it stays idle")
        return None
    residents = []
    for _ in range(RESIDENTS):
        code, lon, lat = rng.choice(homes)
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        residents.append(
            _Resident(
                phone, code, lon + rng.uniform(-0.004, 0.004), lat + rng.uniform(-0.002, 0.002)
            )
        )
    world = _World(sim, residents)
    secret = sim.ctx.settings.auth.secret_key
    world.by_key = {antifraud.keyed_hash(normalise_mobile(r.phone), secret): r for r in residents}
    return world


def _send(world: _World, resident: _Resident, partner: str, fields: dict[str, Any]) -> None:
    sim = world.sim
    assert sim.ctx is not None
    if resident.dissuaded:
        return  # the script stops: the person hung up on the fraudsters
    item = {
        "id": world.next_id(),
        "phone": resident.phone,
        "jurisdiction": resident.jurisdiction,
        "lon": resident.lon,
        "lat": resident.lat,
        **fields,
    }
    with sim.ctx.db.session() as session:
        antifraud.ingest_signals(
            db=session,
            partner=partner,
            items=[item],
            secret=sim.ctx.settings.auth.secret_key,
            actor=Principal.system(f"partner:{partner}"),
        )


def _team_round(world: _World, at: datetime) -> None:
    """One pass of the simulated team over the open queue."""
    sim = world.sim
    assert sim.ctx is not None
    rng = sim.rng
    with sim.ctx.db.session() as session:
        open_ids = [
            w.id
            for w in antifraud.list_warnings(db=session, principal=ACTOR, scope="all", limit=1000)
        ]
        bank_key = session.scalars(
            select(ApiKey.id).where(ApiKey.partner == BANK, ApiKey.revoked_at.is_(None))
        ).first()
    for warning_id in open_ids:
        with sim.ctx.db.session() as session:
            warning = antifraud.get_warning(db=session, warning_id=warning_id)
            if warning.status == "closed":
                continue  # closed since the queue was read (another simulated actor)
            victim = session.get(PotentialVictim, warning.victim_id)
            assert victim is not None
            resident = world.by_key.get(victim.key)
            case = world.cases.setdefault(warning_id, _Case(needed=rng.randint(*DISSUADE_AFTER)))
            holds = list(
                session.scalars(select(StopPayment).where(StopPayment.warning_id == warning_id))
            )
            # The bank answers: hold at once, freeze most after a day, renew some.
            for sp in holds:
                # The simulated bank answers through its partner API (its key's principal).
                principal = Principal(
                    username=sp.bank, roles=frozenset({"partner"}), api_key_id=bank_key
                )
                if sp.status == "requested":
                    antifraud.answer_stop_payment(
                        db=session,
                        principal=principal,
                        stop_payment_id=sp.id,
                        answer=BankAnswer(decision="held", bank_ref=f"SIM-{sp.id}"),
                    )
                elif sp.status in ("held", "renewed") and sp.hold_until is not None:
                    left = (sp.hold_until - at).total_seconds()
                    if left < 6 * 3600 and sp.renewals < antifraud.MAX_RENEWALS:
                        antifraud.renew_stop_payment(
                            db=session, stop_payment_id=sp.id, actor=MEMBER
                        )
                    elif (at - sp.requested_at) > timedelta(hours=20) and rng.random() < 0.5:
                        antifraud.answer_stop_payment(
                            db=session,
                            principal=principal,
                            stop_payment_id=sp.id,
                            answer=BankAnswer(decision="frozen", bank_ref=f"SIM-F-{sp.id}"),
                        )
            if warning.status == "dissuaded":
                if rng.random() < 0.5:  # quick feedback
                    antifraud.close_warning(
                        db=session,
                        warning_id=warning_id,
                        close_in=WarningClose(outcome="intercepted" if holds else "dissuaded"),
                        actor=MEMBER,
                    )
                continue
            sent = (victim.signals or {}).get("transfer_to_mule_amount", 0.0)
            if sent > 0 and not holds:
                last = session.scalars(
                    select(StopPayment.id).where(StopPayment.warning_id == warning_id)
                ).first()
                if last is None and bank_key is not None:
                    antifraud.request_stop_payment(
                        db=session,
                        warning_id=warning_id,
                        stop_in=StopPaymentCreate(
                            bank=BANK, account=f"62220{warning_id:014d}", amount=float(sent)
                        ),
                        secret=sim.ctx.settings.auth.secret_key,
                        actor=MEMBER,
                    )
            if rng.random() < 0.35:
                continue  # the member is busy with another case this round
            roll = rng.random()
            outcome: Outcome
            if roll < NO_ANSWER_SHARE:
                outcome = "no_answer"
            elif roll < NO_ANSWER_SHARE + (1 - NO_ANSWER_SHARE) * REFUSE_SHARE:
                outcome = "refused"
                case.refusals += 1
            else:
                case.contacts += 1
                outcome = "dissuaded" if case.contacts >= case.needed else "reached"
            antifraud.record_contact(
                db=session,
                warning_id=warning_id,
                contact_in=ContactCreate(channel="call_96110", outcome=outcome),
                actor=MEMBER,
            )
            if outcome == "dissuaded" and resident is not None:
                resident.dissuaded = True
            if case.refusals >= 2 and not case.visit and warning.level == "high":
                case.visit = True
                antifraud.escalate_visit(
                    db=session,
                    warning_id=warning_id,
                    visit_in=VisitCreate(urgency="urgent", note="多次拒绝劝阻 / refused twice"),
                    actor=MEMBER,
                )
            if case.contacts + case.refusals > 8:
                antifraud.close_warning(
                    db=session,
                    warning_id=warning_id,
                    close_in=WarningClose(outcome="refused"),
                    actor=MEMBER,
                )


@register("antifraud")
def antifraud_day(sim: Simulation) -> None:
    """Seed the teams and partners, then start the campaigns, the noise and the team."""
    if sim.ctx is None:
        return
    world = _setup(sim)
    if world is None:
        return
    rng = sim.rng
    kinds = [t for t, w in TYPOLOGIES for _ in range(w)]

    def later(minutes: float, action: Callable[[datetime], None], at: datetime) -> None:
        sim.scheduler.at(at + timedelta(minutes=minutes), action, source="antifraud")

    def campaign(at: datetime) -> None:
        try:
            typology = rng.choice(kinds)
            for resident in rng.sample(world.residents, rng.randint(*TARGETS)):
                offset = rng.uniform(0, 120)
                for minutes, partner, fields in _script(
                    typology, rng.random() < TRANSFER_SHARE, rng
                ):

                    def step(
                        _at: datetime,
                        r: _Resident = resident,
                        p: str = partner,
                        f: dict[str, Any] = fields,
                    ) -> None:
                        _send(world, r, p, f)

                    later(offset + minutes, step, at)
        finally:
            gap = rng.expovariate(CAMPAIGNS_PER_DAY / 86400.0)
            sim.scheduler.at(at + timedelta(seconds=gap), campaign, source="antifraud")

    def noise(at: datetime) -> None:
        try:
            _send(
                world,
                rng.choice(world.residents),
                OPERATOR,
                {"kind": "call", "caller_flag": "fraud", "duration_s": rng.uniform(5, 60)},
            )
        finally:
            gap = rng.expovariate(NOISE_PER_DAY / 86400.0)
            sim.scheduler.at(at + timedelta(seconds=gap), noise, source="antifraud")

    def team(at: datetime) -> None:
        try:
            _team_round(world, at)
            with sim.ctx.db.session() as session:  # type: ignore[union-attr]
                antifraud.sweep(db=session, now=at)
        finally:
            sim.scheduler.at(at + timedelta(seconds=TEAM_ROUND_S), team, source="antifraud")

    start = sim.scenario.start
    sim.scheduler.at(start + timedelta(minutes=1), campaign, source="antifraud")
    sim.scheduler.at(start + timedelta(minutes=2), noise, source="antifraud")
    sim.scheduler.at(start + timedelta(seconds=TEAM_ROUND_S), team, source="antifraud")
