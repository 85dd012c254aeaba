"""Service functions of the traffic desk: signals, corridors, versioned plans, deployments.

Every write appends an audit record in the caller's transaction; nothing commits here
(routes commit at the boundary). Signals come from the city's OSM ``traffic_signals``
POIs snapped to the drive graph; a city with none gets its major-road junctions as
``derived_junction`` signals (say so wherever they are shown). Corridors come from
:mod:`pingan.traffic.corridors`, timings from :mod:`pingan.traffic.timing`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pingan.city.graph import RoadGraph, load_road_lines
from pingan.city.models import City, District, Poi
from pingan.city.osm import POI_KINDS
from pingan.city.routing import nearest_nodes
from pingan.city.service import load_graph
from pingan.core import audit, clock
from pingan.core.auth.deps import ensure_in_jurisdiction, scope_to_jurisdictions
from pingan.core.auth.permissions import Principal
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.traffic import corridors as cor
from pingan.traffic import timing as tm
from pingan.traffic.diagram import time_space_svg
from pingan.traffic.models import Corridor, Deployment, TimingPlan, TrafficSignal
from pingan.traffic.schemas import CorridorCreate, PlanRequest, ProposeRequest
from pingan.traffic.settings import TrafficSettings

SNAP_M: Final = 25.0
"""A signal POI farther than this from every drive-graph node is not on a drivable road."""
MAJOR_CLASSES: Final = frozenset({"trunk", "primary", "secondary"})
DESTINATION_KINDS: Final = tuple(k for k in POI_KINDS if k != "traffic_signals")


# ------------------------------------------------------------------------------ helpers


def _city(db: Session, city_id: int) -> City:
    city = db.get(City, city_id)
    if city is None:
        raise NotFound("traffic.error.city", field="city_id", city_id=city_id)
    return city


def _graph(city: City, data_dir: Path) -> RoadGraph:
    return load_graph(city=city, data_dir=data_dir)


def _district_jurisdictions(db: Session, city_id: int) -> dict[int, int | None]:
    return {
        d.id: d.jurisdiction_id
        for d in db.scalars(select(District).where(District.city_id == city_id))
    }


def signal_read(sig: TrafficSignal, period: str = "am_peak") -> dict[str, Any]:
    """A signal as the API shows it, with its current timing for ``period``."""
    current = current_timing(sig, period)
    return {
        "id": sig.id,
        "name": sig.name,
        "lon": sig.lon,
        "lat": sig.lat,
        "osm_id": sig.osm_id,
        "source": sig.source,
        "timing": current.to_dict(),
        "timing_source": current.source,
    }


def current_timing(sig: TrafficSignal, period: str) -> tm.SignalTiming:
    """The signal's deployed timing for ``period``, else the assumed netconvert default."""
    stored = (sig.timing or {}).get(period)
    if stored:
        return tm.SignalTiming.from_dict(stored)
    return tm.default_timing(sig.id)


# ------------------------------------------------------------------------------ signals


def ensure_signals(*, db: Session, city: City, data_dir: Path) -> list[TrafficSignal]:
    """The city's signals, created on first use from its OSM traffic-signal POIs."""
    existing = list(
        db.scalars(
            select(TrafficSignal).where(TrafficSignal.city_id == city.id).order_by(TrafficSignal.id)
        )
    )
    if existing:
        return existing
    graph = _graph(city, data_dir)
    places = _district_jurisdictions(db, city.id)
    pois = list(
        db.scalars(
            select(Poi)
            .where(Poi.city_id == city.id, Poi.kind == "traffic_signals")
            .order_by(Poi.id)
        )
    )
    seen: set[int] = set()
    created: list[TrafficSignal] = []
    if pois:
        nodes, dist = nearest_nodes(graph, [p.lon for p in pois], [p.lat for p in pois])
        for poi, node, metres in zip(pois, nodes, dist, strict=True):
            if metres > SNAP_M or int(node) in seen:
                continue  # off the drive graph, or a second signal node of one junction
            seen.add(int(node))
            created.append(
                TrafficSignal(
                    city_id=city.id,
                    jurisdiction_id=places.get(poi.district_id or -1) or city.jurisdiction_id,
                    source="osm_traffic_signals",
                    poi_id=poi.id,
                    osm_id=poi.osm_id,
                    node_index=int(node),
                    lon=float(graph.lon[node]),
                    lat=float(graph.lat[node]),
                    name=poi.name,
                    timing={},
                )
            )
    else:
        created = _derived_junctions(graph, city, data_dir)
    try:
        with db.begin_nested():  # another request may create them at the same moment
            db.add_all(created)
            db.flush()
    except IntegrityError:
        return list(
            db.scalars(
                select(TrafficSignal)
                .where(TrafficSignal.city_id == city.id)
                .order_by(TrafficSignal.id)
            )
        )
    return created


def _derived_junctions(graph: RoadGraph, city: City, data_dir: Path) -> list[TrafficSignal]:
    """Junctions of major roads (three or more neighbours, on trunk/primary/secondary)."""
    lines = load_road_lines(Path(data_dir) / city.graph_file)
    classes, names = cor.node_roads(graph, lines)
    out: list[TrafficSignal] = []
    for v in range(graph.n_nodes):
        neighbours = set(graph.indices[graph.indptr[v] : graph.indptr[v + 1]].tolist())
        neighbours |= set(graph.rev_indices[graph.rev_indptr[v] : graph.rev_indptr[v + 1]].tolist())
        if len(neighbours) >= 3 and classes[v] in MAJOR_CLASSES:
            out.append(
                TrafficSignal(
                    city_id=city.id,
                    jurisdiction_id=city.jurisdiction_id,
                    source="derived_junction",
                    osm_id=int(graph.osm_id[v]),
                    node_index=v,
                    lon=float(graph.lon[v]),
                    lat=float(graph.lat[v]),
                    name=names[v],
                    timing={},
                )
            )
    return out


# ------------------------------------------------------------------------------ destinations


def list_destinations(*, db: Session, city_id: int, kind: str) -> list[dict[str, Any]]:
    """The city's POIs of ``kind`` (hospital by default) as destinations."""
    if kind not in DESTINATION_KINDS:
        raise ValidationFailed(
            "traffic.error.kind", field="kind", kind=kind, kinds=", ".join(DESTINATION_KINDS)
        )
    _city(db, city_id)
    rows = db.scalars(
        select(Poi).where(Poi.city_id == city_id, Poi.kind == kind).order_by(Poi.name, Poi.id)
    )
    return [{"id": p.id, "kind": p.kind, "name": p.name, "lon": p.lon, "lat": p.lat} for p in rows]


# ------------------------------------------------------------------------------ corridors


def _destination(
    db: Session, city: City, graph: RoadGraph, body: ProposeRequest
) -> tuple[int, dict[str, Any]]:
    if body.destination_id is not None:
        poi = db.get(Poi, body.destination_id)
        if poi is None or poi.city_id != city.id:
            raise NotFound("traffic.error.destination", field="destination_id")
        lon, lat, name = poi.lon, poi.lat, poi.name
    elif body.lon is not None and body.lat is not None:
        lon, lat, name = body.lon, body.lat, ""
    else:
        raise ValidationFailed("traffic.error.destination_missing", field="destination_id")
    node, metres = nearest_nodes(graph, lon, lat)
    if metres > 500.0:
        raise ValidationFailed(
            "traffic.error.off_network", field="destination_id", metres=round(metres)
        )
    return node, {"lon": lon, "lat": lat, "name": name, "node": node, "poi_id": body.destination_id}


def _corridor_doc(
    graph: RoadGraph,
    nodes: Sequence[int],
    signals_by_node: dict[int, TrafficSignal],
    tree: cor.TreeFlows,
    names: Sequence[str],
) -> dict[str, Any]:
    found = cor.corridor_signals(graph, nodes, {n: s.id for n, s in signals_by_node.items()})
    metres = float(sum(graph.length[graph.edge_index(a, b)] for a, b in itertools.pairwise(nodes)))
    seconds = float(
        sum(graph.travel_time[graph.edge_index(a, b)] for a, b in itertools.pairwise(nodes))
    )
    return {
        "name": cor.corridor_name(nodes, names),
        "nodes": [int(v) for v in nodes],
        "metres": round(metres, 1),
        "seconds": round(seconds, 1),
        "speed_limit_mps": round(metres / seconds, 2) if seconds > 0 else 13.9,
        "trips": float(tree.flow[nodes[0]]),
        "geometry": {
            "type": "LineString",
            "coordinates": [
                [round(float(graph.lon[v]), 7), round(float(graph.lat[v]), 7)] for v in nodes
            ],
        },
        "signals": [
            {
                "signal_id": s.signal_id,
                "node": s.node,
                "position_m": s.position_m,
                "flow": float(tree.flow[s.node]),
            }
            for s in found
        ],
    }


def propose_corridors(
    *, db: Session, who: Principal, body: ProposeRequest, data_dir: Path, settings: TrafficSettings
) -> dict[str, Any]:
    """The corridors carrying most trips to the destination, with their signals and timing."""
    city = _city(db, body.city_id)
    ensure_in_jurisdiction(who, city.jurisdiction_id)
    graph = _graph(city, data_dir)
    dest, destination = _destination(db, city, graph, body)
    signals = ensure_signals(db=db, city=city, data_dir=data_dir)
    by_node = {s.node_index: s for s in signals}
    tree = cor.tree_flows(graph, dest)
    _classes, names = cor.node_roads(graph, load_road_lines(Path(data_dir) / city.graph_file))
    proposals = cor.propose_corridors(
        tree, count=body.count, length_m=body.length_m or settings.corridor_length_m
    )
    by_id = {s.id: s for s in signals}
    out: list[dict[str, Any]] = []
    for p in proposals:
        doc = _corridor_doc(graph, p.nodes, by_node, tree, names)
        doc["share"] = round(p.share, 4)
        doc["signals"] = [{**s, **signal_read(by_id[s["signal_id"]])} for s in doc["signals"]]
        out.append(doc)
    return {
        "city_id": city.id,
        "destination": destination,
        "demand_model": "uniform_origins",
        "total_trips": float(tree.flow[dest]),
        "signal_sources": sorted({s.source for s in signals}),
        "corridors": out,
    }


def create_corridor(
    *, db: Session, who: Principal, body: CorridorCreate, data_dir: Path
) -> Corridor:
    """Store a corridor (its nodes must be a driveable path); its signals are found on it."""
    city = _city(db, body.city_id)
    ensure_in_jurisdiction(who, city.jurisdiction_id)
    graph = _graph(city, data_dir)
    for i, v in enumerate(body.nodes):
        if not 0 <= v < graph.n_nodes:
            raise ValidationFailed("traffic.error.node", field=f"nodes[{i}]", node=v)
    for i, (a, b) in enumerate(itertools.pairwise(body.nodes)):
        try:
            graph.edge_index(a, b)
        except KeyError:
            raise ValidationFailed(
                "traffic.error.not_a_path", field=f"nodes[{i + 1}]", a=a, b=b
            ) from None
    destination: dict[str, Any] = {}
    if body.destination_id is not None:
        poi = db.get(Poi, body.destination_id)
        if poi is None or poi.city_id != city.id:
            raise NotFound("traffic.error.destination", field="destination_id")
        destination = {"lon": poi.lon, "lat": poi.lat, "name": poi.name, "poi_id": poi.id}
    last = body.nodes[-1]
    destination.setdefault("lon", float(graph.lon[last]))
    destination.setdefault("lat", float(graph.lat[last]))
    destination["node"] = last
    signals = ensure_signals(db=db, city=city, data_dir=data_dir)
    by_node = {s.node_index: s for s in signals}
    tree = cor.tree_flows(graph, last)
    _classes, names = cor.node_roads(graph, load_road_lines(Path(data_dir) / city.graph_file))
    doc = _corridor_doc(graph, body.nodes, by_node, tree, names)
    corridor = Corridor(
        city_id=city.id,
        jurisdiction_id=city.jurisdiction_id,
        name=body.name,
        destination_poi_id=body.destination_id,
        destination=destination,
        nodes=doc["nodes"],
        geometry=doc["geometry"],
        signals=doc["signals"],
        metres=doc["metres"],
        trips=doc["trips"],
        speed_limit_mps=doc["speed_limit_mps"],
        created_by=who.username,
    )
    db.add(corridor)
    db.flush()
    audit.record(
        db,
        actor=who,
        action="traffic.corridor.create",
        entity="traffic_corridor",
        entity_id=corridor.id,
        detail={"name": corridor.name, "signals": [s["signal_id"] for s in corridor.signals]},
    )
    return corridor


def corridor_read(db: Session, corridor: Corridor) -> dict[str, Any]:
    """A corridor with its signals' current (am-peak) timing."""
    ids = [s["signal_id"] for s in corridor.signals]
    sigs = {s.id: s for s in db.scalars(select(TrafficSignal).where(TrafficSignal.id.in_(ids)))}
    return {
        "id": corridor.id,
        "city_id": corridor.city_id,
        "jurisdiction_id": corridor.jurisdiction_id,
        "name": corridor.name,
        "destination": corridor.destination,
        "metres": corridor.metres,
        "trips": corridor.trips,
        "speed_limit_mps": corridor.speed_limit_mps,
        "geometry": corridor.geometry,
        "nodes": corridor.nodes,
        "signals": [
            {
                **s,
                **(
                    signal_read(sigs[s["signal_id"]])
                    if s["signal_id"] in sigs
                    else {"missing": True}
                ),
            }
            for s in corridor.signals
        ],
        "created_by": corridor.created_by,
        "created_at": corridor.created_at.isoformat(),
    }


def list_corridors(*, db: Session, who: Principal, city_id: int | None = None) -> list[Corridor]:
    """Corridors within the caller's jurisdictions."""
    stmt: Select[Any] = select(Corridor).order_by(Corridor.id)
    if city_id is not None:
        stmt = stmt.where(Corridor.city_id == city_id)
    return list(db.scalars(scope_to_jurisdictions(stmt, Corridor.jurisdiction_id, who)))


def get_corridor(*, db: Session, who: Principal, corridor_id: int) -> Corridor:
    """A corridor the caller may see (another jurisdiction's is a 404)."""
    corridor = db.get(Corridor, corridor_id)
    if corridor is None or not who.sees(corridor.jurisdiction_id):
        raise NotFound("traffic.error.corridor", field="corridor_id")
    return corridor


# ------------------------------------------------------------------------------ plans


def _volumes(
    corridor: Corridor, period: str, body: PlanRequest, settings: TrafficSettings
) -> tuple[list[tuple[float, float]], dict[str, Any]]:
    """(through, cross) veh/h per corridor signal, and where the numbers came from."""
    flows = [max(float(s.get("flow", 0.0)), 0.0) for s in corridor.signals]
    peak = max(flows, default=0.0) or 1.0
    given = body.volumes.get(period)  # type: ignore[call-overload]
    if given is not None:
        through, cross = given.through_vph, given.cross_vph
        source = "request"
    else:
        through = settings.design_through_vph * tm.PERIOD_FACTOR[period]
        cross = through * settings.design_cross_share
        source = "assumed"
    per_signal = [(max(through * f / peak, 1.0), cross) for f in flows]
    return per_signal, {
        "source": source,
        "busiest_through_vph": round(through, 1),
        "cross_vph": round(cross, 1),
        "through_vph": [round(t, 1) for t, _c in per_signal],
        "note": "relative flows from the demand model (uniform trip origins, fastest routes); "
        "absolute volumes assumed unless given",
    }


def _latest_plan(db: Session, corridor_id: int, period: str) -> TimingPlan | None:
    """The corridor's deployed plan for ``period``, else its newest draft."""
    deployed = db.scalars(
        select(TimingPlan).where(
            TimingPlan.corridor_id == corridor_id,
            TimingPlan.period == period,
            TimingPlan.status == "deployed",
        )
    ).first()
    if deployed is not None:
        return deployed
    return db.scalars(
        select(TimingPlan)
        .where(
            TimingPlan.corridor_id == corridor_id,
            TimingPlan.period == period,
            TimingPlan.status == "draft",
        )
        .order_by(TimingPlan.version.desc())
    ).first()


def _heading(graph: RoadGraph, nodes: Sequence[int], node: int) -> float:
    i = list(nodes).index(node)
    a, b = (nodes[i - 1], node) if i > 0 else (node, nodes[min(i + 1, len(nodes) - 1)])
    return cor.bearing_deg(graph, int(a), int(b))


def _held(db: Session, corridor: Corridor, period: str, graph: RoadGraph) -> dict[int, tm.Held]:
    """Shared signals' timings from the other corridors' plans (same city, same period)."""
    my_nodes = {s["signal_id"]: s["node"] for s in corridor.signals}
    mine = set(my_nodes)
    held: dict[int, tm.Held] = {}
    others = db.scalars(
        select(Corridor)
        .where(Corridor.city_id == corridor.city_id, Corridor.id != corridor.id)
        .order_by(Corridor.id)
    )
    for other in others:
        shared = mine & {s["signal_id"] for s in other.signals}
        if not shared:
            continue
        plan = _latest_plan(db, other.id, period)
        if plan is None:
            continue
        their = {int(t["signal_id"]): tm.SignalTiming.from_dict(t) for t in plan.timings}
        other_nodes = {s["signal_id"]: s["node"] for s in other.signals}
        for sid in sorted(shared):
            if sid in held or sid not in their:
                continue
            # A junction's signal counts for the node of each corridor nearest to it,
            # which need not be the same node (dual carriageways).
            angle = (
                abs(
                    _heading(graph, corridor.nodes, my_nodes[sid])
                    - _heading(graph, other.nodes, other_nodes[sid])
                )
                % 180.0
            )
            crossing = 45.0 < angle < 135.0
            t = their[sid]
            through = (1 - t.through_phase) if crossing and len(t.phases) == 2 else t.through_phase
            held[sid] = tm.Held(
                timing=tm.SignalTiming(
                    signal_id=sid, offset_s=t.offset_s, phases=t.phases, through_phase=through
                ),
                plan_id=plan.id,
                corridor_id=other.id,
            )
    return held


def _check_range(name: str, pair: tuple[float, float]) -> None:
    low, high = pair
    if not (math.isfinite(low) and math.isfinite(high)) or not 0 < low <= high:
        raise ValidationFailed(f"traffic.error.{name}", field=name, low=low, high=high)


def create_plans(
    *,
    db: Session,
    who: Principal,
    corridor_id: int,
    body: PlanRequest,
    data_dir: Path,
    settings: TrafficSettings,
) -> list[TimingPlan]:
    """A new version of the corridor's plans, one per period (drafts); all or nothing."""
    corridor = get_corridor(db=db, who=who, corridor_id=corridor_id)
    if len(corridor.signals) < 2:
        raise ValidationFailed(
            "traffic.error.too_few_signals", field="signals", count=len(corridor.signals)
        )
    _check_range("cycle_range", body.cycle_range)
    limit = corridor.speed_limit_mps
    speed_range = body.speed_range or (round(0.7 * limit, 2), round(limit, 2))
    _check_range("speed_range", speed_range)
    city = _city(db, corridor.city_id)
    graph = _graph(city, data_dir)
    version = (
        db.scalar(select(func.max(TimingPlan.version)).where(TimingPlan.corridor_id == corridor.id))
        or 0
    ) + 1
    designs: list[tuple[str, tm.PeriodDesign, dict[str, Any]]] = []
    for period in list(dict.fromkeys(body.periods)):
        per_signal, volume_doc = _volumes(corridor, period, body, settings)
        design_signals = [
            tm.DesignSignal(
                signal_id=int(s["signal_id"]),
                position_m=float(s["position_m"]),
                through_vph=thr,
                cross_vph=crs,
            )
            for s, (thr, crs) in zip(corridor.signals, per_signal, strict=True)
        ]
        design = tm.design_period(
            period,
            design_signals,
            cycle_range=body.cycle_range,
            speed_range=speed_range,
            held=_held(db, corridor, period, graph),
        )
        designs.append((period, design, volume_doc))
    plans: list[TimingPlan] = []
    for period_name, design, volume_doc in designs:
        timings = [t.to_dict() for t in design.timings]
        content = {
            "corridor_id": corridor.id,
            "period": period_name,
            "cycle_s": round(design.band.cycle_s, 2),
            "timings": timings,
        }
        plan = TimingPlan(
            corridor_id=corridor.id,
            version=version,
            period=period_name,
            hours=[list(h) for h in tm.PERIODS[period_name]],
            status="draft",
            cycle_s=round(design.band.cycle_s, 2),
            band_out_s=round(design.band.band_out_s, 2),
            band_in_s=round(design.band.band_in_s, 2),
            efficiency=round(design.band.efficiency, 4),
            timings=timings,
            band=design.band_dict(),
            inputs={
                "cycle_range": list(body.cycle_range),
                "speed_range": list(speed_range),
                "volumes": volume_doc,
                "webster_cycle_s": round(design.webster_cycle_s, 1),
                "one_way": design.one_way,
                "cycle_choice": design.cycle_choice_dict(),
            },
            coordination=design.held,
            content_hash=tm.content_hash(content),
            created_by=who.username,
        )
        db.add(plan)
        plans.append(plan)
    db.flush()
    audit.record(
        db,
        actor=who,
        action="traffic.plan.create",
        entity="traffic_corridor",
        entity_id=corridor.id,
        detail={
            "version": version,
            "plans": [p.id for p in plans],
            "hashes": [p.content_hash for p in plans],
        },
    )
    return plans


def get_plan(*, db: Session, who: Principal, plan_id: int) -> tuple[TimingPlan, Corridor]:
    """A plan and its corridor (another jurisdiction's is a 404)."""
    plan = db.get(TimingPlan, plan_id)
    if plan is None:
        raise NotFound("traffic.error.plan", field="plan_id")
    corridor = get_corridor(db=db, who=who, corridor_id=plan.corridor_id)
    return plan, corridor


def plan_read(plan: TimingPlan) -> dict[str, Any]:
    """A plan as the API shows it."""
    return {
        "id": plan.id,
        "corridor_id": plan.corridor_id,
        "version": plan.version,
        "period": plan.period,
        "hours": plan.hours,
        "status": plan.status,
        "cycle_s": plan.cycle_s,
        "band_out_s": plan.band_out_s,
        "band_in_s": plan.band_in_s,
        "efficiency": plan.efficiency,
        "timings": plan.timings,
        "inputs": plan.inputs,
        "coordination": plan.coordination,
        "content_hash": plan.content_hash,
        "created_by": plan.created_by,
        "created_at": plan.created_at.isoformat(),
        "deployed_by": plan.deployed_by,
        "deployed_at": plan.deployed_at.isoformat() if plan.deployed_at else None,
        "superseded_at": plan.superseded_at.isoformat() if plan.superseded_at else None,
    }


def list_plans(*, db: Session, who: Principal, corridor_id: int) -> list[TimingPlan]:
    """The corridor's version history, newest first."""
    get_corridor(db=db, who=who, corridor_id=corridor_id)
    return list(
        db.scalars(
            select(TimingPlan)
            .where(TimingPlan.corridor_id == corridor_id)
            .order_by(TimingPlan.version.desc(), TimingPlan.id)
        )
    )


def diagram(plan: TimingPlan, corridor: Corridor) -> str:
    """The plan's time-space diagram (SVG)."""
    band = tm.band_from_dict(plan.band)
    title = f"{corridor.name} · v{plan.version} · {plan.period}"
    return time_space_svg(band, title=title)


def _signals(db: Session, ids: Sequence[int]) -> dict[int, TrafficSignal]:
    return {
        s.id: s for s in db.scalars(select(TrafficSignal).where(TrafficSignal.id.in_(list(ids))))
    }


def export(*, db: Session, plan: TimingPlan, corridor: Corridor, fmt: str) -> str | dict[str, Any]:
    """The plan as a SUMO additional file (text) or vendor-neutral JSON."""
    timings = [tm.SignalTiming.from_dict(t) for t in plan.timings]
    sigs = _signals(db, [t.signal_id for t in timings])
    positions = {int(s["signal_id"]): float(s["position_m"]) for s in corridor.signals}
    for i, t in enumerate(timings):
        if t.signal_id not in sigs:
            raise ValidationFailed(
                "traffic.error.unknown_signal", field=f"signals[{i}]", signal=t.signal_id
            )
    if fmt == "sumo":
        tls = {
            sid: str(s.osm_id if s.osm_id is not None else f"pingan_{s.id}")
            for sid, s in sigs.items()
        }
        return tm.export_sumo(
            timings,
            tls,
            program_id=f"pingan-{plan.id}",
            comment=f"Pingan green wave: {corridor.name}, version {plan.version}, {plan.period}, "
            f"C={plan.cycle_s:.1f} s, bands {plan.band_out_s:.1f}/{plan.band_in_s:.1f} s; "
            "state strings are schematic (two links per phase group)",
        )
    return tm.export_json(
        plan={
            "plan_id": plan.id,
            "corridor": {"id": corridor.id, "name": corridor.name},
            "version": plan.version,
            "period": plan.period,
            "hours": plan.hours,
            "status": plan.status,
            "cycle_s": plan.cycle_s,
            "band": {
                "out_s": plan.band_out_s,
                "in_s": plan.band_in_s,
                "efficiency": plan.efficiency,
            },
            "content_hash": plan.content_hash,
            # Plans made before the delay-based cycle choice have no record of it.
            **(
                {"cycle_choice": plan.inputs["cycle_choice"]}
                if isinstance(plan.inputs, dict) and "cycle_choice" in plan.inputs
                else {}
            ),
        },
        timings=timings,
        signals={
            sid: {
                "osm_id": s.osm_id,
                "source": s.source,
                "name": s.name,
                "lon": s.lon,
                "lat": s.lat,
                "position_m": positions.get(sid),
            }
            for sid, s in sigs.items()
        },
    )


def compare(*, db: Session, plan: TimingPlan, corridor: Corridor) -> dict[str, Any]:
    """Before (the signals' current timing) and after (this plan): a deterministic estimate."""
    after = [tm.SignalTiming.from_dict(t) for t in plan.timings]
    sigs = _signals(db, [t.signal_id for t in after])
    before = [
        current_timing(sigs[t.signal_id], plan.period)
        if t.signal_id in sigs
        else tm.default_timing(t.signal_id)
        for t in after
    ]
    links_out = list(plan.band["travel_out_s"])
    links_in = list(plan.band["travel_in_s"])
    return {
        "plan_id": plan.id,
        "method": "estimate",
        "note": "one vehicle per second at the plan's design link speeds, no queues or other "
        "traffic; a SUMO evaluation is the proof",
        "before": {
            "timing_sources": sorted({t.source for t in before}),
            **tm.estimate(before, links_out_s=links_out, links_in_s=links_in),
        },
        "after": tm.estimate(after, links_out_s=links_out, links_in_s=links_in),
        "band": {"out_s": plan.band_out_s, "in_s": plan.band_in_s, "cycle_s": plan.cycle_s},
    }


def deploy(*, db: Session, who: Principal, plan_id: int) -> TimingPlan:
    """Mark a draft deployed: supersede the corridor's deployed plan for that period, audit."""
    plan, corridor = get_plan(db=db, who=who, plan_id=plan_id)
    if plan.status != "draft":
        raise Conflict("traffic.error.not_draft", field="plan_id", status=plan.status)
    timings = [tm.SignalTiming.from_dict(t) for t in plan.timings]
    sigs = _signals(db, [t.signal_id for t in timings])
    for i, t in enumerate(timings):
        sig = sigs.get(t.signal_id)
        gone = sig is None or sig.city_id != corridor.city_id
        if not gone and sig is not None and sig.source == "osm_traffic_signals":
            gone = sig.poi_id is None or db.get(Poi, sig.poi_id) is None
        if gone:
            raise ValidationFailed(
                "traffic.error.unknown_signal", field=f"signals[{i}]", signal=t.signal_id
            )
    at = clock.now()
    previous = db.scalars(
        select(TimingPlan).where(
            TimingPlan.corridor_id == plan.corridor_id,
            TimingPlan.period == plan.period,
            TimingPlan.status == "deployed",
        )
    ).first()
    if previous is not None:
        previous.status = "superseded"
        previous.superseded_at = at
    plan.status = "deployed"
    plan.deployed_by = who.username
    plan.deployed_at = at
    for t in timings:
        sig = sigs[t.signal_id]
        current = dict(sig.timing or {})
        current[plan.period] = {**t.to_dict(), "source": f"plan:{plan.id}"}
        sig.timing = current
        sig.timing_source = f"plan:{plan.id}"
    db.add(
        Deployment(
            plan_id=plan.id,
            corridor_id=plan.corridor_id,
            period=plan.period,
            superseded_plan_id=previous.id if previous is not None else None,
            content_hash=plan.content_hash,
            actor=who.username,
            at=at,
        )
    )
    db.flush()
    audit.record(
        db,
        actor=who,
        action="traffic.plan.deploy",
        entity="traffic_plan",
        entity_id=plan.id,
        detail={
            "corridor_id": plan.corridor_id,
            "version": plan.version,
            "period": plan.period,
            "content_hash": plan.content_hash,
            "superseded": previous.id if previous is not None else None,
        },
    )
    return plan
