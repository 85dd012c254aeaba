"""Dispatch generator: 110 calls with a daily rhythm, answered by the demo force on real roads.

Calls arrive as a Poisson process whose rate follows the hour of day; each is placed
at a road node (junctions where more roads meet are likelier: a proxy for where people
are) and described in colloquial Chinese from ``data/dispatch_calls.json``, naming the
street or place nearest to it. The simulated dispatcher accepts the desk's
recommendation after a short think time; units report en route, drive the fastest
route (a position report every ``POSITION_EVERY_S``), report on scene, and the incident
is closed after a service time, which releases its units; after each dispatch and each clearance the
dispatcher accepts the desk's move-up proposals and the units drive to their standby
posts, where they wait. Other idle ground units patrol:
every ``PATROL_EVERY_S`` some of them drive to another junction. Everything goes
through the dispatch desk's service functions, as call-takers and unit terminals would.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pingan.city import service as city_service
from pingan.city.graph import RoadGraph
from pingan.city.routing import route
from pingan.core.auth.permissions import Principal
from pingan.core.errors import PinganError
from pingan.dispatch import schemas as dispatch_schemas
from pingan.dispatch import service as dispatch_service
from pingan.dispatch import standby as dispatch_standby
from pingan.dispatch.recommend import GROUND_KINDS
from pingan.dispatch.schemas_standby import StandbyRequest
from pingan.dispatch.settings import dispatch_settings
from pingan.sim.registry import register

if TYPE_CHECKING:
    from pingan.sim.runner import Simulation

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data" / "dispatch_calls.json"
CALLS_PER_DAY = 160
"""Calls a day in the demo city (a few square kilometres of a city centre)."""
THINK_S = (15.0, 60.0)
"""The simulated dispatcher accepts a recommendation after this many seconds (uniform)."""
MOVE_UP_THINK_S = 30.0
"""After a dispatch or a clearance, the simulated dispatcher accepts the move-up proposals."""
SERVICE_MEDIAN_S = 1200.0
"""Median time from first arrival to closing the incident (lognormal, sigma 0.5)."""
POSITION_EVERY_S = 20.0
HEARTBEAT_S = 60.0
"""A unit standing still still reports (AVL heartbeat), so only a silent unit goes stale."""
PATROL_EVERY_S = 600.0
PATROL_SHARE = 0.25
"""Share of idle ground units that set off on a patrol leg at each patrol round."""
ACTOR = Principal.system("sim:dispatch")

Action = Callable[[datetime], None]


@lru_cache(maxsize=1)
def call_data() -> dict[str, Any]:
    """The call texts, type shares and hourly profile."""
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


@dataclass
class _World:
    sim: Simulation
    city_id: int
    graph: RoadGraph
    node_weights: NDArray[np.float64]
    place_names: list[str]
    place_xy: NDArray[np.float64]
    legs: dict[int, int] = field(default_factory=dict)
    """Unit id -> number of its current movement; a newer movement cancels older reports."""
    closing: set[int] = field(default_factory=set)
    city_name: str = ""
    publisher: Any = None
    """An AVL publisher when ``PINGAN_DISPATCH__MQTT_URL`` is set: positions go over MQTT."""
    callsigns: dict[int, str] = field(default_factory=dict)

    def session(self) -> Any:
        assert self.sim.ctx is not None
        return self.sim.ctx.db.session()

    def place_near(self, node: int) -> str:
        d = (self.place_xy[:, 0] - self.graph.lon[node]) ** 2 + (
            self.place_xy[:, 1] - self.graph.lat[node]
        ) ** 2
        return self.place_names[int(np.argmin(d))]


def _world(sim: Simulation) -> _World | None:
    assert sim.ctx is not None
    data_dir = sim.ctx.settings.data_dir
    with sim.ctx.db.session() as session:
        try:
            city = city_service.get_city_by_name(session=session, name=sim.scenario.city)
        except PinganError:
            log.warning("dispatch generator: no city %r; it stays idle", sim.scenario.city)
            return None
        graph = city_service.load_graph(city=city, data_dir=data_dir)
        places = dispatch_service.place_names(db=session, city=city, data_dir=data_dir)
        city_id, city_name = city.id, city.name
    degree = np.diff(graph.indptr).astype(float) + np.diff(graph.rev_indptr).astype(float)
    names = list(places) or ["路口"]
    xy = np.array([places[n] for n in places] or [(graph.lon[0], graph.lat[0])], dtype=float)
    world = _World(sim, city_id, graph, degree / degree.sum(), names, xy, city_name=city_name)
    conf = dispatch_settings()
    if conf.mqtt_url:
        from pingan.dispatch.avl import AvlPublisher

        # Units report like terminals in the field: over MQTT, through the AVL bridge.
        world.publisher = AvlPublisher(url=conf.mqtt_url, prefix=conf.mqtt_topic_prefix)
        log.info("dispatch generator: positions are published over MQTT (%s)", conf.mqtt_url)
    return world


def _publish(world: _World, unit_id: int, node: int, at: datetime) -> bool:
    """Publish a position over MQTT; False when there is no publisher or it is not connected."""
    if world.publisher is None:
        return False
    callsign = world.callsigns.get(unit_id)
    if callsign is None:
        with world.session() as session:
            callsign = dispatch_service.get_unit(db=session, unit_id=unit_id).callsign
        world.callsigns[unit_id] = callsign
    sent: bool = world.publisher.publish(
        city=world.city_name,
        callsign=callsign,
        lon=float(world.graph.lon[node]),
        lat=float(world.graph.lat[node]),
        at=at,
    )
    return sent


def _edge_seconds(graph: RoadGraph, a: int, b: int) -> float:
    lo, hi = int(graph.indptr[a]), int(graph.indptr[a + 1])
    hits = np.flatnonzero(graph.indices[lo:hi] == b)
    return float(graph.travel_time[lo + int(hits[0])]) if hits.size else 0.0


def _drive(
    world: _World, unit_id: int, a: int, b: int, start: datetime, then: Action | None
) -> None:
    """Schedule position reports along the fastest route from node ``a`` to ``b``."""
    leg = world.legs.get(unit_id, 0) + 1
    world.legs[unit_id] = leg
    found = route(world.graph, a, b)
    nodes = found.nodes if found is not None else [a]
    elapsed = [0.0]
    for u, v in itertools.pairwise(nodes):
        elapsed.append(elapsed[-1] + _edge_seconds(world.graph, u, v))
    t = POSITION_EVERY_S
    while t < elapsed[-1]:
        node = nodes[bisect_right(elapsed, t) - 1]
        world.sim.scheduler.at(
            start + timedelta(seconds=t),
            _report(world, unit_id, leg, node, None),
            source="dispatch",
        )
        t += POSITION_EVERY_S
    world.sim.scheduler.at(
        start + timedelta(seconds=elapsed[-1]),
        _report(world, unit_id, leg, nodes[-1], then),
        source="dispatch",
    )


def _report(world: _World, unit_id: int, leg: int, node: int, then: Action | None) -> Action:
    def act(at: datetime) -> None:
        if world.legs.get(unit_id) != leg:
            return  # a newer movement (a dispatch during a patrol) took over
        if _publish(world, unit_id, node, at):
            if then is not None:
                then(at)
            return
        with world.session() as session:
            dispatch_service.update_position(
                db=session,
                unit_id=unit_id,
                actor=ACTOR,
                data_dir=world.sim.ctx.settings.data_dir if world.sim.ctx else None,
                position_in=dispatch_schemas.PositionUpdate(
                    lon=float(world.graph.lon[node]), lat=float(world.graph.lat[node]), at=at
                ),
            )
        if then is not None:
            then(at)

    return act


def _set_status(world: _World, unit_id: int, status: str) -> bool:
    """Report a status; False when the desk refuses it (e.g. the incident was closed)."""
    try:
        with world.session() as session:
            dispatch_service.change_unit_status(
                db=session,
                unit_id=unit_id,
                actor=ACTOR,
                status_in=dispatch_schemas.StatusChange(status=status),
            )
    except PinganError:
        return False
    return True


def _accept(world: _World, incident_id: int, node: int) -> Action:
    """The dispatcher accepts the recommendation; the units set off."""

    def dispatch(unit_ids: list[int], reason: str | None) -> list[tuple[int, int]]:
        with world.session() as session:
            dispatch_service.dispatch_units(
                db=session,
                incident_id=incident_id,
                actor=ACTOR,
                dispatch_in=dispatch_schemas.DispatchCreate(
                    unit_ids=unit_ids, override_reason=reason
                ),
            )
            return [
                (u.id, int(u.node))
                for u in dispatch_service.units_by_id(db=session, ids=unit_ids)
                if u.kind in GROUND_KINDS and u.node is not None and u.node >= 0
            ]

    def act(at: datetime) -> None:
        with world.session() as session:
            incident = dispatch_service.get_incident(db=session, incident_id=incident_id)
            chosen = dispatch_service.recommended_unit_ids(incident)
            free = [
                u.id
                for u in dispatch_service.units_by_id(db=session, ids=chosen)
                if u.status == "available"
            ]
        if not free:
            return  # nothing recommended is free any more: left to the human dispatcher
        try:
            # Units taken by another incident since the recommendation: the dispatcher
            # sends the rest and says why, as the desk requires for any override.
            reason = None if len(free) == len(chosen) else "推荐警力已被占用，派出其余推荐警力"
            moving = dispatch(free, reason)
        except PinganError:
            return
        for unit_id, start_node in moving:
            if _set_status(world, unit_id, "en_route"):
                _drive(world, unit_id, start_node, node, at, _on_scene(world, unit_id, incident_id))
        _schedule_move_up(world, at)

    return act


def _schedule_move_up(world: _World, at: datetime) -> None:
    world.sim.scheduler.at(
        at + timedelta(seconds=MOVE_UP_THINK_S), _move_up(world), source="dispatch"
    )


def _move_up(world: _World) -> Action:
    """The dispatcher accepts the desk's move-up proposals; each unit drives to its post."""

    def act(at: datetime) -> None:
        data_dir = world.sim.ctx.settings.data_dir if world.sim.ctx else None
        if data_dir is None:
            return
        moves: list[tuple[int, int, int]] = []
        try:
            with world.session() as session:
                proposals = dispatch_standby.move_up_proposals(
                    db=session, city_id=world.city_id, data_dir=data_dir, principal=ACTOR
                ).proposals
            for p in proposals:
                with world.session() as session:
                    dispatch_standby.send_to_standby(
                        db=session,
                        unit_id=p.unit_id,
                        standby_in=StandbyRequest(rank=p.post_rank),
                        actor=ACTOR,
                        data_dir=data_dir,
                    )
                moves.append((p.unit_id, p.from_node, p.post_node))
        except PinganError as exc:  # a unit taken meanwhile, the hourly limit: skip the rest
            log.debug("dispatch generator: move-up stopped: %s", exc)
        for unit_id, start, post in moves:
            _drive(world, unit_id, start, post, at, None)

    return act


def _on_scene(world: _World, unit_id: int, incident_id: int) -> Action:
    def act(at: datetime) -> None:
        if not _set_status(world, unit_id, "on_scene") or incident_id in world.closing:
            return
        world.closing.add(incident_id)
        service_s = SERVICE_MEDIAN_S * math.exp(world.sim.rng.gauss(0.0, 0.5))
        world.sim.scheduler.at(
            at + timedelta(seconds=service_s), _close(world, incident_id), source="dispatch"
        )

    return act


def _close(world: _World, incident_id: int) -> Action:
    def act(at: datetime) -> None:
        world.closing.discard(incident_id)
        with world.session() as session:
            dispatch_service.close_incident(
                db=session,
                incident_id=incident_id,
                actor=ACTOR,
                close_in=dispatch_schemas.IncidentClose(outcome="现场处置完毕（仿真）"),
            )
        _schedule_move_up(world, at)  # units back in service: fill the posts again

    return act


def _patrol(world: _World) -> Action:
    def act(at: datetime) -> None:
        rng = world.sim.rng
        with world.session() as session:
            listed = dispatch_service.list_units(db=session, principal=ACTOR, city_id=world.city_id)
            ids = [
                u.id
                for u in listed
                if u.status == "available" and u.kind in GROUND_KINDS and u.standby_node is None
            ]  # a unit sent to a standby post waits there
            idle = [
                (u.id, int(u.node))
                for u in dispatch_service.units_by_id(db=session, ids=ids)
                if u.node is not None and u.node >= 0
            ]
        for unit_id, node in rng.sample(idle, k=int(len(idle) * PATROL_SHARE)):
            # a leg to a junction a few minutes away, like a beat patrol
            target = int(world.graph.indices[rng.randrange(world.graph.n_edges)])
            _drive(world, unit_id, node, target, at, None)
        world.sim.scheduler.at(at + timedelta(seconds=PATROL_EVERY_S), act, source="dispatch")

    return act


def _heartbeat(world: _World) -> Action:
    """Every minute, units that have not reported for a minute report where they stand."""

    def act(at: datetime) -> None:
        quiet_since = at - timedelta(seconds=HEARTBEAT_S)
        with world.session() as session:
            units = dispatch_service.list_units(db=session, principal=ACTOR, city_id=world.city_id)
            standing = [
                u
                for u in units
                if u.kind != "camera"
                and u.status != "out_of_service"
                and (u.position_at is None or u.position_at <= quiet_since)
            ]
            for u in standing:
                if world.publisher is not None and _publish_point(world, u.id, u.lon, u.lat, at):
                    continue
                dispatch_service.update_position(
                    db=session,
                    unit_id=u.id,
                    actor=ACTOR,
                    data_dir=world.sim.ctx.settings.data_dir if world.sim.ctx else None,
                    position_in=dispatch_schemas.PositionUpdate(lon=u.lon, lat=u.lat, at=at),
                )
        world.sim.scheduler.at(at + timedelta(seconds=HEARTBEAT_S), act, source="dispatch")

    return act


def _publish_point(world: _World, unit_id: int, lon: float, lat: float, at: datetime) -> bool:
    """Publish a standing unit's fix over MQTT; False when there is no connected publisher."""
    if world.publisher is None:
        return False
    callsign = world.callsigns.get(unit_id)
    if callsign is None:
        return False  # not yet seen moving: report through the service instead
    sent: bool = world.publisher.publish(
        city=world.city_name, callsign=callsign, lon=lon, lat=lat, at=at
    )
    return sent


@register("dispatch")
def dispatch_day(sim: Simulation) -> None:
    """Start the day's calls and the force's patrols."""
    if sim.ctx is None:
        return
    world = _world(sim)
    if world is None:
        return
    data = call_data()
    types = data["types"]
    hourly = np.asarray(data["hourly_share"], dtype=float)
    hourly /= hourly.sum()
    rng = sim.rng
    pick = np.random.default_rng(sim.scenario.seed)

    def next_call_after(now: datetime) -> datetime:
        rate_per_s = CALLS_PER_DAY * hourly[now.hour] / 3600.0
        return now + timedelta(seconds=rng.expovariate(rate_per_s))

    def call(at: datetime) -> None:
        kind = rng.choices(types, weights=[t["share"] for t in types])[0]
        node = int(pick.choice(world.graph.n_nodes, p=world.node_weights))
        text = rng.choice(kind["texts"]).format(place=world.place_near(node))
        with world.session() as session:
            incident = dispatch_service.report_call(
                db=session,
                settings=sim.ctx.settings if sim.ctx else None,
                actor=ACTOR,
                call_in=dispatch_schemas.CallCreate(
                    text=text,
                    lon=float(world.graph.lon[node]),
                    lat=float(world.graph.lat[node]),
                    source="sim",
                    received_at=at,
                ),
            )
            incident_id, status = incident.id, incident.status
        if status == "new":
            think = timedelta(seconds=rng.uniform(*THINK_S))
            sim.scheduler.at(at + think, _accept(world, incident_id, node), source="dispatch")
        sim.scheduler.at(next_call_after(at), call, source="dispatch")

    with world.session() as session:
        if not dispatch_standby.list_posts(db=session, city_id=world.city_id):
            # the desk's hourly job plans them too; the day should start with a plan
            try:
                dispatch_standby.plan_posts(
                    db=session,
                    city_id=world.city_id,
                    data_dir=sim.ctx.settings.data_dir,
                    actor=ACTOR,
                )
            except (PinganError, ValueError) as exc:
                log.warning("dispatch generator: standby posts not planned: %s", exc)
    sim.scheduler.at(next_call_after(sim.scenario.start), call, source="dispatch")
    sim.scheduler.at(sim.scenario.start + timedelta(seconds=60), _patrol(world), source="dispatch")
    sim.scheduler.at(
        sim.scenario.start + timedelta(seconds=HEARTBEAT_S), _heartbeat(world), source="dispatch"
    )
