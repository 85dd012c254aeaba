"""Move-up on the live desk (补位): standby posts per city and proposals to fill them.

The same algorithms the dispatch benchmark measures (``recommend.plan_standby_posts``,
``recommend.move_up``, ``recommend.expected_response_s``), fed from the desk's rows:

- **Posts.** :func:`plan_posts` takes the city's incidents of the last
  ``standby_history_days`` (28) as demand points (one weight per call at its road node);
  with fewer than ``standby_min_incidents`` (50) recorded, it falls back to a proxy —
  road density (node degree, a population stand-in) for 70 % and the city's POIs for
  30 % — and says so in ``basis`` (``incidents`` or ``pois``). Candidates are up to
  :data:`POST_CANDIDATES` nodes drawn by demand; the greedy stochastic p-median orders
  as many posts as the city has road units (cars, motorbikes, K9), nested, best first.
  The rows (``dispatch_standby_posts``) survive restarts; the job ``dispatch-standby-posts``
  re-plans every ``standby_replan_s`` (1 h).
- **Proposals.** :func:`move_up_proposals` matches the ``k`` idle road units to the first
  ``k`` posts with the least total drive (a move costs ``move_up_cost_s`` more than its
  drive; nothing beyond ``move_up_max_drive_s``); a unit already at or heading to its post
  stays. A unit that made ``move_up_max_per_hour`` standby moves in the last hour is not
  moved again. Each proposal carries its drive, the expected gain (demand-weighted
  expected response, MEXCLP busy probability, before vs after the move) and reason codes.
- **Accepting.** :func:`send_to_standby` records the post on the unit (``standby_node``,
  ``standby_since``), writes a timeline entry (reason ``standby``, status unchanged: a unit
  moving to cover is still assignable), an audit record and a ``dispatch.unit.standby``
  event. The per-unit limit counts those timeline entries.

Move-up is a proposal the dispatcher accepts; nothing moves by itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pingan.city.graph import RoadGraph
from pingan.city.models import City, Poi
from pingan.city.routing import travel_times_from, travel_times_to
from pingan.city.service import get_city, list_cities, load_graph
from pingan.core import audit, clock
from pingan.core.auth.permissions import Principal
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.module import Context
from pingan.core.outbox import record
from pingan.dispatch.events import StandbyPostsPlanned, UnitSentToStandby
from pingan.dispatch.models import (
    Incident,
    SecurityEvent,
    SecurityPost,
    StandbyPost,
    Unit,
    UnitStatusChange,
)
from pingan.dispatch.recommend import (
    ROAD_KINDS,
    ROAD_TIME_FACTOR,
    UnitKind,
    expected_response_s,
    move_up,
    plan_standby_posts,
)
from pingan.dispatch.schemas_standby import (
    MoveUpProposal,
    MoveUpRead,
    StandbyPostRead,
    StandbyRequest,
)
from pingan.dispatch.settings import DispatchSettings, dispatch_settings
from pingan.dispatch.statuses import UnitStatus

log = logging.getLogger(__name__)

Actor = Principal | str

POST_CANDIDATES: Final = 120
"""Candidate post nodes drawn by demand (as in the benchmark)."""
PROXY_POI_SHARE: Final = 0.3
STANDBY_REASON: Final = "standby"
"""Timeline reason of a standby move (status unchanged); the per-unit limit counts these."""
ROAD_KIND_VALUES: Final = tuple(str(k) for k in ROAD_KINDS)


def _conf() -> DispatchSettings:
    return dispatch_settings()


@dataclass(frozen=True)
class Demand:
    """Where calls are expected: road nodes, weights summing to 1, and what they came from."""

    nodes: NDArray[np.int64]
    weights: NDArray[np.float64]
    basis: str
    incidents: int


def demand(*, db: Session, city: City, graph: RoadGraph) -> Demand:
    """The city's recorded incidents of the last days, or the POI/road-density proxy."""
    conf = _conf()
    since = clock.now() - timedelta(days=conf.standby_history_days)
    nodes = np.array(
        [
            int(n)
            for n in db.scalars(
                select(Incident.node).where(
                    Incident.city_id == city.id, Incident.received_at >= since
                )
            )
            if 0 <= int(n) < graph.n_nodes
        ],
        dtype=np.int64,
    )
    if nodes.size >= conf.standby_min_incidents:
        found, counts = np.unique(nodes, return_counts=True)
        w = counts.astype(np.float64)
        return Demand(found.astype(np.int64), w / w.sum(), "incidents", int(nodes.size))
    degree = (np.diff(graph.indptr) + np.diff(graph.rev_indptr)).astype(np.float64)
    p = degree / degree.sum()
    pois = np.array(
        [
            int(n)
            for n in db.scalars(
                select(Poi.node_index).where(Poi.city_id == city.id, Poi.node_index.is_not(None))
            )
            if n is not None and 0 <= int(n) < graph.n_nodes
        ],
        dtype=np.int64,
    )
    if pois.size:
        at_poi = np.bincount(pois, minlength=graph.n_nodes).astype(np.float64)
        p = (1.0 - PROXY_POI_SHARE) * p + PROXY_POI_SHARE * at_poi / at_poi.sum()
    keep = np.flatnonzero(p > 0)
    w = p[keep]
    return Demand(keep.astype(np.int64), w / w.sum(), "pois", int(nodes.size))


def _times_from(graph: RoadGraph, sources: list[int], cutoff_s: float) -> NDArray[np.float64]:
    """Rows of drive times from ``sources`` to every node, in chunks (bounded memory)."""
    if not sources:
        return np.zeros((0, graph.n_nodes))
    return np.vstack(
        [
            np.atleast_2d(travel_times_from(graph, sources[i : i + 16], cutoff_s))
            for i in range(0, len(sources), 16)
        ]
    )


def _road_units(db: Session, city_id: int) -> list[Unit]:
    return list(
        db.scalars(
            select(Unit)
            .where(Unit.city_id == city_id, Unit.kind.in_(ROAD_KIND_VALUES))
            .order_by(Unit.id)
        )
    )


def plan_posts(
    *, db: Session, city_id: int, data_dir: Path, actor: Actor, count: int | None = None
) -> list[StandbyPost]:
    """Plan (again) a city's standby posts from its demand and store them as rows, best first."""
    conf = _conf()
    city = get_city(session=db, city_id=city_id)
    graph = load_graph(city=city, data_dir=data_dir)
    found = demand(db=db, city=city, graph=graph)
    n_posts = count if count is not None else max(1, len(_road_units(db, city.id)))
    rng = np.random.default_rng(city.id)
    k = min(POST_CANDIDATES, found.nodes.size)
    candidates = np.sort(rng.choice(found.nodes, k, replace=False, p=found.weights))
    travel = _times_from(graph, candidates.tolist(), conf.cutoff_s)[:, found.nodes]
    order = plan_standby_posts(
        travel,
        found.weights,
        n_posts,
        busy_fraction=conf.move_up_busy_fraction,
        unreachable_s=conf.cutoff_s,
    )
    now = clock.now()
    db.execute(delete(StandbyPost).where(StandbyPost.city_id == city.id))
    posts = []
    for rank, i in enumerate(order, start=1):
        node = int(candidates[i])
        posts.append(
            StandbyPost(
                city_id=city.id,
                rank=rank,
                node=node,
                lon=float(graph.lon[node]),
                lat=float(graph.lat[node]),
                planned_at=now,
                basis=found.basis,
            )
        )
    db.add_all(posts)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_standby_posts",
        entity_id=city.id,
        detail={"posts": len(posts), "basis": found.basis, "incidents": found.incidents},
    )
    record(db, StandbyPostsPlanned(city_id=city.id, posts=len(posts), basis=found.basis))
    return posts


def list_posts(*, db: Session, city_id: int) -> list[StandbyPost]:
    """A city's standby posts, rank 1 first (empty until planned)."""
    get_city(session=db, city_id=city_id)
    return list(
        db.scalars(
            select(StandbyPost).where(StandbyPost.city_id == city_id).order_by(StandbyPost.rank)
        )
    )


def post_read(post: StandbyPost) -> StandbyPostRead:
    """A post as the API shows it."""
    return StandbyPostRead.model_validate(post)


def moves_in_last_hour(*, db: Session, unit_id: int) -> int:
    """Standby moves the unit made in the last hour (the per-crew limit counts these)."""
    since = clock.now() - timedelta(hours=1)
    return int(
        db.scalar(
            select(func.count(UnitStatusChange.id)).where(
                UnitStatusChange.unit_id == unit_id,
                UnitStatusChange.reason == STANDBY_REASON,
                UnitStatusChange.at >= since,
            )
        )
        or 0
    )


def _on_event_post(db: Session, city_id: int) -> set[int]:
    """Units staffing a planned or active event-security post: not moved up."""
    return {
        int(u)
        for u in db.scalars(
            select(SecurityPost.unit_id)
            .join(SecurityEvent, SecurityEvent.id == SecurityPost.event_id)
            .where(
                SecurityEvent.city_id == city_id,
                SecurityEvent.status.in_(("planned", "active")),
                SecurityPost.unit_id.is_not(None),
            )
        )
        if u is not None
    }


def move_up_proposals(
    *, db: Session, city_id: int, data_dir: Path, principal: Principal
) -> MoveUpRead:
    """Which idle road units should move to which standby posts now (a proposal, not a move)."""
    conf = _conf()
    city = get_city(session=db, city_id=city_id)
    posts = list_posts(db=db, city_id=city.id)
    busy_statuses = str(UnitStatus.AVAILABLE)
    held_back = _on_event_post(db, city.id)
    idle = [
        u
        for u in _road_units(db, city.id)
        if u.status == busy_statuses and u.node >= 0 and u.id not in held_back
    ]
    basis = posts[0].basis if posts else None
    planned_at = posts[0].planned_at if posts else None
    read = MoveUpRead(
        city_id=city.id,
        posts_planned=bool(posts),
        basis=basis,
        planned_at=planned_at,
        idle_units=len(idle),
        proposals=[],
    )
    if not posts or not idle:
        return read
    graph = load_graph(city=city, data_dir=data_dir)
    active = posts[: len(idle)]
    post_nodes = [p.node for p in active]
    to_posts = np.atleast_2d(travel_times_to(graph, post_nodes, conf.move_up_max_drive_s / 0.9))
    travel = np.empty((len(idle), len(active)))
    for i, u in enumerate(idle):
        travel[i] = to_posts[:, u.node] * ROAD_TIME_FACTOR[UnitKind(u.kind)]
    current: list[int | None] = [None] * len(idle)
    taken: set[int] = set()
    for i, u in enumerate(idle):  # at or heading to a post: what is left of its drive
        for j, p in enumerate(active):
            if u.standby_node == p.node and j not in taken:
                current[i] = j
                taken.add(j)
                break
    used = {u.id: moves_in_last_hour(db=db, unit_id=u.id) for u in idle}
    limit = conf.move_up_max_per_hour
    for i, u in enumerate(idle):
        if used[u.id] >= limit:  # this crew has moved enough this hour: it stays where it is
            keep = current[i]
            row = np.full(len(active), np.inf)
            if keep is not None:
                row[keep] = travel[i, keep]
            travel[i] = row
    slots = move_up(
        travel,
        current=current,
        move_cost_s=conf.move_up_cost_s,
        max_move_s=conf.move_up_max_drive_s,
    )
    # Expected response over the demand, from where each idle unit stands (or will stand).
    found = demand(db=db, city=city, graph=graph)
    cutoff = conf.cutoff_s
    q = conf.move_up_busy_fraction
    here = [u.node if c is None else active[c].node for u, c in zip(idle, current, strict=True)]
    from_units = _times_from(graph, here, cutoff)[:, found.nodes]
    from_posts = _times_from(graph, post_nodes, cutoff)[:, found.nodes]

    def expected(rows: NDArray[np.float64]) -> float:
        return float(
            expected_response_s(rows, busy_fraction=q, unreachable_s=cutoff) @ found.weights
        )

    before = expected(from_units)
    covered = {c for c in current if c is not None}
    after_all = from_units.copy()
    proposals: list[MoveUpProposal] = []
    for i, (u, slot) in enumerate(zip(idle, slots, strict=True)):
        if slot is None or slot == current[i] or u.node == active[slot].node:
            continue
        one = from_units.copy()
        one[i] = from_posts[slot]
        gain = before - expected(one)
        if gain < conf.move_up_min_gain_s or not principal.sees(u.jurisdiction_id):
            continue  # not worth a crew's drive (or not the caller's unit)
        after_all[i] = from_posts[slot]
        post = active[slot]
        reasons: list[dict[str, Any]] = []
        if slot not in covered:
            reasons.append({"code": "post_uncovered", "params": {"rank": post.rank}})
        reasons.append(
            {"code": "move_drive", "params": {"seconds": round(float(travel[i, slot]), 1)}}
        )
        reasons.append({"code": "expected_gain", "params": {"seconds": round(gain, 1)}})
        reasons.append(
            {"code": "moves_left", "params": {"left": max(0, limit - used[u.id]), "limit": limit}}
        )
        if u.standby_node is not None:
            reasons.append({"code": "post_changed", "params": {"rank": post.rank}})
        proposals.append(
            MoveUpProposal(
                unit_id=u.id,
                callsign=u.callsign,
                kind=UnitKind(u.kind),
                from_lon=u.lon,
                from_lat=u.lat,
                from_node=u.node,
                post_rank=post.rank,
                post_node=post.node,
                post_lon=post.lon,
                post_lat=post.lat,
                eta_s=round(float(travel[i, slot]), 1),
                expected_gain_s=round(gain, 1),
                reasons=reasons,
            )
        )
    proposals.sort(key=lambda p: (-p.expected_gain_s, p.unit_id))
    held = [u.callsign for u in idle if used[u.id] >= limit and principal.sees(u.jurisdiction_id)]
    return read.model_copy(
        update={
            "proposals": proposals,
            "expected_response_s": round(before, 1),
            "expected_response_after_s": round(expected(after_all), 1),
            "held_by_limit": held,
        }
    )


def send_to_standby(
    *,
    db: Session,
    unit_id: int,
    standby_in: StandbyRequest,
    actor: Actor,
    data_dir: Path,
    principal: Principal | None = None,
) -> Unit:
    """Send an available road unit to a standby post (by rank or lon/lat); it stays available."""
    from pingan.dispatch import service  # the desk's unit/geography helpers

    conf = _conf()
    unit = service.get_unit(db=db, unit_id=unit_id, principal=principal)
    if unit.kind not in ROAD_KIND_VALUES:
        raise ValidationFailed("dispatch.error.standby_kind", field="unit_id", kind=unit.kind)
    if unit.status != UnitStatus.AVAILABLE:
        raise Conflict(
            "dispatch.error.standby_busy",
            field="unit_id",
            callsign=unit.callsign,
            status=unit.status,
        )
    city = get_city(session=db, city_id=unit.city_id)
    rank: int | None = standby_in.rank
    if rank is not None and (standby_in.lon is not None or standby_in.lat is not None):
        raise ValidationFailed("dispatch.error.standby_target", field="rank")
    if rank is not None:
        post = db.scalars(
            select(StandbyPost).where(StandbyPost.city_id == city.id, StandbyPost.rank == rank)
        ).first()
        if post is None:
            raise ValidationFailed("dispatch.error.standby_post_unknown", field="rank", rank=rank)
        node, lon, lat = post.node, post.lon, post.lat
    else:
        if standby_in.lon is None or standby_in.lat is None:
            if standby_in.lon is None and standby_in.lat is None:
                missing = "rank"
            else:
                missing = "lon" if standby_in.lon is None else "lat"
            raise ValidationFailed("dispatch.error.standby_target", field=missing)
        graph = load_graph(city=city, data_dir=data_dir)
        node = service.snap_point(city, graph, standby_in.lon, standby_in.lat)
        lon, lat = float(graph.lon[node]), float(graph.lat[node])
    used = moves_in_last_hour(db=db, unit_id=unit.id)
    if used >= conf.move_up_max_per_hour:
        raise Conflict(
            "dispatch.error.standby_limit",
            field="unit_id",
            callsign=unit.callsign,
            limit=conf.move_up_max_per_hour,
        )
    at = clock.now()
    unit.standby_node, unit.standby_since = node, at
    db.add(
        UnitStatusChange(
            unit_id=unit.id,
            from_status=unit.status,
            to_status=unit.status,
            at=at,
            actor=actor.username if isinstance(actor, Principal) else actor,
            reason=STANDBY_REASON,
        )
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_unit",
        entity_id=unit.id,
        reason="standby",
        detail={"standby_node": node, "rank": rank, "lon": lon, "lat": lat},
    )
    record(
        db,
        UnitSentToStandby(
            unit_id=unit.id,
            callsign=unit.callsign,
            city_id=city.id,
            node=node,
            lon=lon,
            lat=lat,
            rank=rank,
        ),
    )
    return unit


def replan_all(*, db: Session, data_dir: Path) -> int:
    """Re-plan the posts of every city that has road units; how many cities were planned."""
    done = 0
    for city in list_cities(session=db):
        if not db.scalar(
            select(func.count(Unit.id)).where(
                Unit.city_id == city.id, Unit.kind.in_(ROAD_KIND_VALUES)
            )
        ):
            continue
        try:
            plan_posts(db=db, city_id=city.id, data_dir=data_dir, actor="system:standby")
        except (FileNotFoundError, ValueError, NotFound) as exc:
            log.warning("standby posts of city %s not planned: %s", city.name, exc)
            continue
        done += 1
    return done


async def run_replan(ctx: Context) -> int:
    """The desk's periodic job: re-plan every city's standby posts in its own session."""

    def replan() -> int:
        with ctx.db.session() as session:
            return replan_all(db=session, data_dir=ctx.settings.data_dir)

    return await asyncio.to_thread(replan)
