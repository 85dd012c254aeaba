"""Digital ID generator: residents show their digital ID at the demo relying parties.

At the start the demo relying parties (internet café, hotel, railway ticket gate, hospital)
are registered if missing and a pool of simulated residents gets credentials from the bureau
(random valid ID numbers of the demo jurisdiction's region, each holder with its own key).
Then presentations arrive as a Poisson process following the hour of day: a relying party
creates a request for one of its scenarios, a resident's wallet presents exactly the claims
asked for, the platform verifies. A few are made to fail the way they do in the field: a
credential reported lost (revoked), a wallet with a slow clock (stale key binding), a tampered
presentation. Everything goes through the identity desk's service functions, so the usage
figures of the bureau panel are computed from these records.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from pingan.core.auth.permissions import Principal
from pingan.core.privacy import id_check_character
from pingan.identity import sdjwt
from pingan.identity import service as identity
from pingan.identity.credential import present_for_scenario
from pingan.identity.models import RelyingParty
from pingan.identity.scenarios import get_scenario
from pingan.identity.schemas import CredentialIssue
from pingan.sim.registry import register

if TYPE_CHECKING:
    from pingan.sim.runner import Simulation

log = logging.getLogger(__name__)

RESIDENTS = 40
USES_PER_DAY = 600
REGION = "330302"
"""Address code of the ID numbers (Lucheng district, Wenzhou)."""
DISTRICT = "鹿城区"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "婷", "杰", "军", "浩然", "子涵", "一诺", "欣怡"]
HOURLY = [1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 9, 9, 8, 8, 9, 9, 9, 9, 10, 11, 12, 10, 6, 3]
"""Relative uses per hour of day (internet cafés and hotels peak in the evening)."""
FAILURES = {"stale": 0.02, "tampered": 0.01}
ACTOR = Principal.system("sim:identity")


@dataclass
class _Holder:
    key: sdjwt.PrivateKey
    credential: str
    credential_id: int


@dataclass
class _World:
    sim: Simulation
    holders: list[_Holder] = field(default_factory=list)
    rps: list[tuple[int, list[str]]] = field(default_factory=list)


def resident_id_number(rng: random.Random, born: date) -> str:
    """A valid (check character included) ID number of :data:`REGION` for ``born``."""
    first17 = f"{REGION}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_check_character(first17)


def _setup(sim: Simulation) -> _World | None:
    assert sim.ctx is not None
    rng = sim.rng
    world = _World(sim)
    data_dir = sim.ctx.settings.data_dir
    with sim.ctx.db.session() as session:
        identity.seed_demo_relying_parties(db=session, actor=ACTOR)
        for rp in session.scalars(select(RelyingParty).where(RelyingParty.demo.is_(True))):
            world.rps.append((rp.id, list(rp.scenarios)))
        today = sim.scenario.start.date()
        for _ in range(RESIDENTS):
            born = today - timedelta(days=rng.randrange(16 * 365, 80 * 365))
            key = sdjwt.generate_key()
            row, credential = identity.issue_credential(
                db=session,
                data_dir=data_dir,
                issue_in=CredentialIssue(
                    name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                    id_number=resident_id_number(rng, born),
                    birth_date=born,
                    address_district=DISTRICT,
                    photo_hash=f"sha256-sim-{rng.getrandbits(64):016x}",
                    holder_jwk=sdjwt.public_jwk(key),
                ),
                actor=ACTOR,
            )
            world.holders.append(_Holder(key, credential, row.id))
        # One resident reports the phone lost: the credential is revoked.
        lost = world.holders[-1]
        identity.change_status(
            db=session,
            principal=ACTOR,
            credential_id=lost.credential_id,
            action="revoke",
            reason="模拟：手机丢失 / simulated: phone lost",
        )
    if not world.rps:
        log.warning("identity generator: no demo relying party; it stays idle")
        return None
    return world


def _use(world: _World, at: datetime) -> None:
    sim = world.sim
    assert sim.ctx is not None
    rng = sim.rng
    rp_id, scenarios = rng.choice(world.rps)
    scenario = get_scenario(rng.choice(scenarios))
    holder = rng.choice(world.holders)
    roll = rng.random()
    with sim.ctx.db.session() as session:
        rp = session.get(RelyingParty, rp_id)
        assert rp is not None
        request = identity.request_for(db=session, rp=rp, scenario_id=scenario.id)
        ref, nonce, aud = request.ref, request.nonce, request.audience
    when = at
    if roll < FAILURES["stale"]:  # a wallet whose clock is ten minutes slow: a stale KB-JWT
        when = at - timedelta(minutes=10)
    shown = present_for_scenario(
        holder.credential, scenario, holder_key=holder.key, nonce=nonce, audience=aud, now=when
    )
    if FAILURES["stale"] <= roll < FAILURES["stale"] + FAILURES["tampered"]:
        jwt, rest = shown.split(".", 1)
        shown = jwt + "." + rest[::-1]  # a tampered presentation
    with sim.ctx.db.session() as session:
        identity.respond(
            db=session, data_dir=sim.ctx.settings.data_dir, ref=ref, presentation=shown
        )


@register("identity")
def identity_day(sim: Simulation) -> None:
    """Issue the residents' credentials, then start the day's ID checks."""
    if sim.ctx is None:
        return
    world = _setup(sim)
    if world is None:
        return
    rng = sim.rng

    def next_after(now: datetime) -> datetime:
        share = HOURLY[now.hour] / sum(HOURLY)
        return now + timedelta(seconds=rng.expovariate(USES_PER_DAY * share / 3600.0))

    def use(at: datetime) -> None:
        try:
            _use(world, at)
        finally:
            sim.scheduler.at(next_after(at), use, source="identity")

    sim.scheduler.at(next_after(sim.scenario.start), use, source="identity")
