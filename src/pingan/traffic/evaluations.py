"""SUMO evaluations as jobs: a row per request, each run in its own (spawned) process.

``create`` checks the request and queues a row; :func:`run_pending` (the desk's periodic
job) reaps finished processes and starts queued rows while fewer than
``eval_parallel`` run. The child process opens its own database connection, runs
:func:`pingan.traffic.evaluate.evaluate` one simulation at a time and writes its progress
(0..1) and finally the summary table or the error. A row left ``running`` by a process
that no longer exists (the platform restarted) is marked failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import tempfile
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from pingan.city.models import City
from pingan.city.service import demo_pbf_path, file_sha256, source_path
from pingan.core import audit, clock
from pingan.core.auth.permissions import Principal
from pingan.core.db import Database
from pingan.core.errors import NotFound, PinganError, ValidationFailed
from pingan.core.i18n import translate
from pingan.core.module import Context
from pingan.traffic.models import Corridor, Evaluation, TimingPlan, TrafficSignal
from pingan.traffic.schemas import EvaluationCreate
from pingan.traffic.settings import TrafficSettings, traffic_settings

ARTERIAL: Final = "arterial"
"""The generated synthetic arterial (built in the job's own folder)."""
EXTRACTS_DIR: Final = Path("traffic") / "extracts"
"""Where (under the data dir) a city's OSM extract is looked for by plan evaluations."""
CITY_TRIP_PERIOD_S: Final = 1.5
"""Morning-peak demand on a city's SUMO network: one random trip every 1.5 s (2,400 an
hour, the benchmark's demo city demand); other periods scale it by ``PERIOD_FACTOR``."""

_processes: dict[tuple[str, int], BaseProcess] = {}
"""Running evaluation processes by (database URL, evaluation id)."""


def allowed_dirs(settings: TrafficSettings, data_dir: Path) -> list[Path]:
    """Folders whose .sumocfg files evaluations may read."""
    return [*settings.scenario_dirs, Path(data_dir) / "traffic" / "scenarios"]


def _check_scenario(name: str, settings: TrafficSettings, data_dir: Path) -> str:
    if name == ARTERIAL:
        return name
    path = Path(name)
    if path.suffix != ".sumocfg" or ".." in path.parts or "\x00" in name:
        raise ValidationFailed("traffic.error.scenario_path", field="scenario", path=name[:200])
    try:
        resolved = path.resolve()
        allowed = any(
            resolved.is_relative_to(d.resolve()) for d in allowed_dirs(settings, data_dir)
        )
    except (OSError, ValueError, RuntimeError):
        allowed = False
    if not allowed:
        raise ValidationFailed("traffic.error.scenario_path", field="scenario", path=name[:200])
    if not resolved.is_file():
        raise ValidationFailed("traffic.error.scenario", field="scenario", path=name)
    return str(resolved)


def city_extract(city: City, settings: TrafficSettings, data_dir: Path) -> Path | None:
    """The OSM extract the city was imported from, where the platform can find it: the copy
    the import kept (named by its SHA-256), else the demo extract or a file of the same name
    under ``<data_dir>/traffic/extracts`` or a scenario folder with the same SHA-256; None
    when there is none."""
    kept = source_path(city, data_dir)
    if kept is not None:
        return kept
    candidates: list[Path] = []
    with contextlib.suppress(NotFound):
        candidates.append(demo_pbf_path())
    for folder in (Path(data_dir) / EXTRACTS_DIR, *settings.scenario_dirs):
        candidates.append(folder / Path(city.source_file).name)
    for path in candidates:
        if path.is_file() and file_sha256(path) == city.source_sha256:
            return path
    return None


def _require_extract(city: City, settings: TrafficSettings, data_dir: Path) -> Path:
    """:func:`city_extract`, or a 422 naming ``plan_id`` that says where to put the file."""
    extract = city_extract(city, settings, data_dir)
    if extract is None:
        raise ValidationFailed(
            "traffic.error.city_extract",
            field="plan_id",
            file=city.source_file,
            folder=str(Path(data_dir) / EXTRACTS_DIR),
        )
    return extract


def _plan_target(
    db: Session, who: Principal, plan_id: int, settings: TrafficSettings, data_dir: Path
) -> tuple[TimingPlan, City]:
    """The plan (visible to the caller, else 404 naming ``plan_id``) and its city, whose
    extract must be on this machine (else 422)."""
    from pingan.traffic import service

    try:
        plan, corridor = service.get_plan(db=db, who=who, plan_id=plan_id)
    except NotFound as exc:
        raise NotFound("traffic.error.plan", field="plan_id") from exc
    city = db.get(City, corridor.city_id)
    if city is None:  # pragma: no cover - the foreign key keeps it
        raise NotFound("traffic.error.plan", field="plan_id")
    _require_extract(city, settings, data_dir)
    return plan, city


def create(*, db: Session, who: Principal, body: EvaluationCreate, data_dir: Path) -> Evaluation:
    """Queue an evaluation after checking the scenario or plan, seeds, controllers and SUMO."""
    from pingan.traffic.evaluate import CONTROLLERS
    from pingan.traffic.sumo import sumo_home

    settings = traffic_settings()
    if (body.scenario is None) == (body.plan_id is None):
        raise ValidationFailed(
            "traffic.error.scenario_or_plan",
            field="plan_id" if body.plan_id is not None else "scenario",
        )
    plan: TimingPlan | None = None
    if body.plan_id is not None:
        plan, city = _plan_target(db, who, body.plan_id, settings, data_dir)
        scenario = f"{city.name} · {plan.period} · plan {plan.id} v{plan.version}"
    else:
        assert body.scenario is not None
        scenario = _check_scenario(body.scenario, settings, data_dir)
    if body.seeds > settings.eval_max_seeds:
        raise ValidationFailed(
            "traffic.error.seeds", field="seeds", value=body.seeds, maximum=settings.eval_max_seeds
        )
    unknown = [c for c in body.controllers if c not in CONTROLLERS]
    if unknown or len(set(body.controllers)) != len(body.controllers):
        raise ValidationFailed(
            "traffic.error.controller", field="controllers", value=", ".join(unknown)
        )
    if sumo_home() is None:
        raise ValidationFailed("traffic.error.sumo_missing", field="sumo")
    row = Evaluation(
        status="queued",
        progress=0.0,
        scenario=scenario,
        plan_id=plan.id if plan is not None else None,
        seeds=body.seeds,
        controllers=list(body.controllers),
        duration_s=body.duration_s,
        calibrate=body.calibrate,
        result={"signals": body.signals} if scenario == ARTERIAL else None,
        created_by=who.username,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=who,
        action="traffic.evaluation.create",
        entity="traffic_evaluation",
        entity_id=row.id,
        detail={
            "scenario": scenario,
            "plan_id": row.plan_id,
            "seeds": body.seeds,
            "controllers": body.controllers,
            "calibrate": body.calibrate,
        },
    )
    return row


def _visible(who: Principal) -> Any:
    """Scenario evaluations are everyone's; a plan's only its corridor's jurisdiction's."""
    if who.all_jurisdictions:
        return true()
    return or_(
        Evaluation.plan_id.is_(None),
        Evaluation.plan_id.in_(
            select(TimingPlan.id)
            .join(Corridor, Corridor.id == TimingPlan.corridor_id)
            .where(Corridor.jurisdiction_id.in_(sorted(who.jurisdiction_ids)))
        ),
    )


def get(*, db: Session, who: Principal, evaluation_id: int) -> Evaluation:
    """An evaluation row the caller may see (another jurisdiction's plan: 404)."""
    row = db.scalars(
        select(Evaluation).where(Evaluation.id == evaluation_id, _visible(who))
    ).first()
    if row is None:
        raise NotFound("traffic.error.evaluation", field="evaluation_id")
    return row


def read(row: Evaluation, lang: str) -> dict[str, Any]:
    """An evaluation as the API shows it (the error in the caller's language)."""
    result = row.result if row.status == "done" else None
    error = None
    if row.status == "failed":
        params = (row.result or {}).get("error_params", {})
        key = row.error_key or "traffic.error.evaluation_failed"
        error = {"key": key, "message": translate(key, lang, **params), "detail": row.error}
    return {
        "id": row.id,
        "status": row.status,
        "progress": round(row.progress, 3),
        "scenario": row.scenario,
        "plan_id": row.plan_id,
        "seeds": row.seeds,
        "controllers": row.controllers,
        "duration_s": row.duration_s,
        "calibrate": row.calibrate,
        "result": result,
        "error": error,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


def list_all(*, db: Session, who: Principal, limit: int = 50) -> list[Evaluation]:
    """The newest evaluations the caller may see."""
    return list(
        db.scalars(
            select(Evaluation).where(_visible(who)).order_by(Evaluation.id.desc()).limit(limit)
        )
    )


# ------------------------------------------------------------------------------ runner


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_pending(*, db: Database, data_dir: Path, database_url: str) -> list[int]:
    """Reap finished evaluation processes and start queued ones; returns the started ids."""
    settings = traffic_settings()
    for (url, eid), proc in list(_processes.items()):
        if proc.is_alive():
            continue
        proc.join(timeout=0)
        del _processes[(url, eid)]
        if url != database_url:
            continue  # another database's runner marks its own rows
        with db.session() as s:
            row = s.get(Evaluation, eid)
            if row is not None and row.status in ("queued", "running"):
                _fail(row, "traffic.error.evaluation_crashed", f"exit code {proc.exitcode}", {})
    started: list[int] = []
    with db.session() as s:
        for row in s.scalars(select(Evaluation).where(Evaluation.status == "running")):
            if (database_url, row.id) not in _processes and not _alive(row.pid):
                _fail(row, "traffic.error.evaluation_interrupted", "", {})
        free = settings.eval_parallel - len(_processes)  # alive ones only, on this machine
        queued = list(
            s.scalars(
                select(Evaluation)
                .where(Evaluation.status == "queued")
                .order_by(Evaluation.id)
                .limit(max(free, 0))
                .with_for_update(skip_locked=True)  # a second runner (worker) skips them
            )
        )
        for row in queued:
            row.status = "running"
            row.started_at = clock.now()
            row.progress = 0.0
            started.append(row.id)
    ctx = multiprocessing.get_context("spawn")
    for eid in started:
        workdir = Path(data_dir) / "traffic" / "evaluations" / str(eid)
        proc = ctx.Process(
            target=run_in_child,
            args=(database_url, eid, str(workdir), str(data_dir)),
            daemon=False,
        )
        proc.start()
        _processes[(database_url, eid)] = proc
        with db.session() as s:
            row = s.get(Evaluation, eid)
            if row is not None:
                row.pid = proc.pid
    return started


async def evaluation_job(ctx: Context) -> None:
    """The periodic job: start and reap evaluation processes (off the event loop)."""
    await asyncio.to_thread(
        run_pending,
        db=ctx.db,
        data_dir=ctx.settings.data_dir,
        database_url=ctx.settings.database_url_resolved,
    )


def _number(value: float) -> float | None:
    """A JSON-safe figure: NaN (no vehicle measured) and infinities become null."""
    return round(value, 3) if math.isfinite(value) else None


def _fail(row: Evaluation, key: str, detail: str, params: dict[str, Any]) -> None:
    row.status = "failed"
    row.error_key = key
    row.error = detail[:2000]
    row.result = {"error_params": {k: str(v) for k, v in params.items()}}
    row.finished_at = clock.now()


def _scenario(row: Evaluation, workdir: Path) -> Any:
    from pingan.traffic import sumo
    from pingan.traffic.evaluate import Scenario, scenario_from_sumocfg

    if row.scenario == ARTERIAL:
        end = row.duration_s or 1800.0
        signals = int((row.result or {}).get("signals", 5))
        art = sumo.build_arterial(workdir / "arterial", signals=signals, seed=1)
        routes: dict[int, tuple[Path, ...]] = {
            seed: (sumo.arterial_demand(art, seed=seed, duration_s=max(end - 300.0, 60.0)),)
            for seed in range(row.seeds)
        }
        return (
            Scenario(
                name="arterial",
                net=art.net,
                routes=routes[0],
                end=end,
                routes_by_seed=routes,
            ),
            art.corridor,
        )
    scenario = scenario_from_sumocfg(Path(row.scenario))
    if row.duration_s is not None:
        scenario = replace(scenario, end=scenario.begin + row.duration_s)
    return scenario, None


@dataclass(frozen=True)
class PlanTarget:
    """What a stored plan's evaluation needs, read from the database before SUMO starts."""

    plan_id: int
    period: str
    extract: Path
    points: list[Any]
    """The corridor's graph nodes as :class:`pingan.traffic.citymap.CityPoint`."""
    corridor_m: float
    corridor_vph: float
    """The plan's design volume entering the corridor (its first signal's through flow)."""
    desk_signals: list[tuple[int, float, float]]
    timings: dict[int, Any]
    """Desk signal id → :class:`pingan.traffic.timing.SignalTiming`."""


def plan_target(db: Session, plan_id: int, data_dir: Path) -> PlanTarget:
    """Read what evaluating stored plan ``plan_id`` needs (no permission check: callers
    have made it, see :func:`create`)."""
    from pingan.city.service import load_graph
    from pingan.traffic.citymap import CityPoint
    from pingan.traffic.timing import SignalTiming

    plan = db.get(TimingPlan, plan_id)
    corridor = db.get(Corridor, plan.corridor_id) if plan is not None else None
    city = db.get(City, corridor.city_id) if corridor is not None else None
    if plan is None or corridor is None or city is None:
        raise NotFound("traffic.error.plan", field="plan_id")
    extract = _require_extract(city, traffic_settings(), data_dir)
    graph = load_graph(city=city, data_dir=data_dir)
    points = [CityPoint(lon=float(graph.lon[v]), lat=float(graph.lat[v])) for v in corridor.nodes]
    ids = [int(t["signal_id"]) for t in plan.timings]
    rows = {
        sig.id: sig for sig in db.scalars(select(TrafficSignal).where(TrafficSignal.id.in_(ids)))
    }
    return PlanTarget(
        plan_id=plan.id,
        period=plan.period,
        extract=extract,
        points=points,
        corridor_m=float(corridor.metres),
        corridor_vph=_entry_volume(plan),
        desk_signals=[(i, rows[i].lon, rows[i].lat) for i in ids if i in rows],
        timings={int(t["signal_id"]): SignalTiming.from_dict(t) for t in plan.timings},
    )


def _entry_volume(plan: TimingPlan) -> float:
    """The plan's design through volume at its first signal (veh/h), else its busiest."""
    volumes = (plan.inputs or {}).get("volumes", {})
    through = volumes.get("through_vph") or []
    if through:
        return float(through[0])
    return float(volumes.get("busiest_through_vph", 0.0))


def plan_scenario(
    target: PlanTarget, workdir: Path, duration_s: float | None = None
) -> tuple[Any, list[str], list[Any], dict[str, Any]]:
    """The city's SUMO network at the plan's period's demand, the corridor mapped onto it,
    the plan's programmes there and a report of the mapping."""
    from pingan.traffic import citymap, sumo
    from pingan.traffic.evaluate import scenario_from_sumocfg
    from pingan.traffic.timing import PERIOD_FACTOR

    period_s = CITY_TRIP_PERIOD_S / PERIOD_FACTOR.get(target.period, 1.0)
    cfg = sumo.build_osm_scenario(target.extract, workdir / "city", period_s=period_s)
    scenario = scenario_from_sumocfg(cfg)
    if duration_s is not None:
        scenario = replace(scenario, end=scenario.begin + duration_s)
    net = sumo.load_net(scenario.net)
    edges = citymap.map_route(net, target.points)
    # The trips the plan was designed for: the corridor's entry volume drives it end to end
    # on top of the random background traffic (which seldom drives a whole corridor).
    flow = sumo.write_corridor_flow(
        workdir / "city" / "corridor.rou.xml",
        edges,
        vph=target.corridor_vph,
        begin=scenario.begin,
        end=scenario.end,
    )
    scenario = replace(scenario, routes=(*scenario.routes, flow))
    lights = sumo.corridor_signals(net, edges)
    matched = citymap.match_signals(net, lights, target.desk_signals)
    if not matched:
        raise ValidationFailed("traffic.error.plan_unmapped", field="plan_id")
    transfer = citymap.programs_from_timings(
        sumo.read_programs(net),
        lights,
        {tls: target.timings[sid] for tls, sid in matched.items()},
    )
    if not transfer.programs:
        raise ValidationFailed("traffic.error.plan_unmapped", field="plan_id")
    used = set(matched.values())
    report = {
        "plan_id": target.plan_id,
        "period": target.period,
        "demand": {
            "trip_every_s": round(period_s, 3),
            "source": "randomTrips",
            "corridor_vph": round(target.corridor_vph, 1),
        },
        "sumo_edges": len(edges),
        "sumo_corridor_m": round(sum(net.getEdge(e).getLength() for e in edges), 1),
        "desk_corridor_m": round(target.corridor_m, 1),
        "sumo_lights": len(lights),
        "matched": {tls: sid for tls, sid in matched.items() if tls not in transfer.skipped},
        "kept_own_programme": {
            **{s.tls_id: "no_desk_signal" for s in lights if s.tls_id not in matched},
            **transfer.skipped,
        },
        "desk_signals_without_light": [
            sid for sid, _lon, _lat in target.desk_signals if sid not in used
        ],
    }
    return scenario, edges, transfer.programs, report


def run_in_child(database_url: str, evaluation_id: int, workdir: str, data_dir: str = "") -> None:
    """The child process: run the evaluation, writing progress and the result to the row."""
    from pingan.core.i18n import register_catalogue
    from pingan.traffic.evaluate import evaluate, summarise

    register_catalogue(Path(__file__).parent / "locales")  # the desk's errors, in the child
    db = Database(database_url, pooled=False)
    try:
        with db.session() as s:
            row = s.get(Evaluation, evaluation_id)
            if row is None:
                return
            seeds = row.seeds
            controllers = list(row.controllers)
            target: PlanTarget | None = None
            if row.plan_id is not None:
                try:
                    target = plan_target(
                        s, row.plan_id, Path(data_dir) if data_dir else Path(workdir).parents[2]
                    )
                except PinganError as exc:
                    _fail(row, exc.key, exc.message("en"), {"field": exc.field or "", **exc.params})
                    return
            s.expunge(row)
        total = max(1, seeds * len(controllers))
        done = 0
        base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="pingan-eval-"))
        base.mkdir(parents=True, exist_ok=True)

        def set_progress(value: float) -> None:
            with db.session() as s2:
                r = s2.get(Evaluation, evaluation_id)
                if r is not None:
                    r.progress = max(r.progress, min(value, 1.0))

        def tick(_result: dict[str, Any]) -> None:
            nonlocal done
            done += 1
            set_progress(0.1 + 0.9 * done / total)

        try:
            plan_programs: list[Any] | None = None
            mapping: dict[str, Any] | None = None
            if target is not None:
                scenario, corridor, plan_programs, mapping = plan_scenario(
                    target, base, row.duration_s
                )
            else:
                scenario, corridor = _scenario(row, base)
            set_progress(0.05)
            prepared, results = evaluate(
                scenario,
                seeds=tuple(range(seeds)),
                corridor=corridor,
                workers=1,
                workdir=base / "work",
                controllers=tuple(controllers),
                progress=tick,
                calibrate=row.calibrate,
                # Pingan's candidate plans, simulated before the comparison: 0.05 → 0.1.
                calibration_progress=lambda k, n: set_progress(0.05 + 0.05 * k / n),
                plan_programs=plan_programs,
            )
            table = summarise(results)
            result = {
                "scenario": scenario.name,
                "corridor": list(prepared.corridor),
                "signals": len(prepared.corridor_tls),
                "calibration": prepared.calibration,
                "mapping": mapping,
                "table": {
                    c: {m: [_number(v[0]), _number(v[1])] for m, v in row_.items()}
                    for c, row_ in table.items()
                },
                "note": "mean and standard deviation over the seeds (SUMO)",
            }
            with db.session() as s3:
                r = s3.get(Evaluation, evaluation_id)
                if r is not None:
                    r.status = "done"
                    r.progress = 1.0
                    r.result = result
                    r.finished_at = clock.now()
        except PinganError as exc:
            with db.session() as s4:
                r = s4.get(Evaluation, evaluation_id)
                if r is not None:
                    _fail(r, exc.key, exc.message("en"), {"field": exc.field or "", **exc.params})
        except Exception as exc:  # a crash of SUMO or the tools: the row says so
            with db.session() as s5:
                r = s5.get(Evaluation, evaluation_id)
                if r is not None:
                    _fail(r, "traffic.error.evaluation_failed", f"{type(exc).__name__}: {exc}", {})
    finally:
        with contextlib.suppress(Exception):
            db.dispose()
