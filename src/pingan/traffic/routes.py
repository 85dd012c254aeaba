"""HTTP routes of the traffic desk (mounted under ``/api``): destinations, corridors, plans,
deployment and evaluations.

Reading needs ``traffic.read``; proposing and saving corridors, computing plans and
starting evaluations need ``traffic.plan`` (traffic engineers); marking a plan deployed
needs ``traffic.deploy``. Corridors are scoped to the caller's jurisdictions (another
jurisdiction's corridor or plan is a 404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse, Response

from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, Language, PlatformContext, RowId
from pingan.traffic import evaluations, service
from pingan.traffic.priority_routes import router as _priority_router
from pingan.traffic.schemas import (
    CorridorCreate,
    EvaluationCreate,
    ExportFormat,
    PlanRequest,
    ProposeRequest,
)
from pingan.traffic.settings import traffic_settings

router = APIRouter(prefix="/traffic", tags=["traffic"])

Reader = Annotated[Principal, require("traffic.read")]
Planner = Annotated[Principal, require("traffic.plan")]
Deployer = Annotated[Principal, require("traffic.deploy")]


@router.get("/destinations")
def destinations(
    who: Reader,
    db: DbSession,
    city_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
    kind: Annotated[str, Query(max_length=32)] = "hospital",
) -> list[dict[str, Any]]:
    """Destinations of the city (hospitals by default) from its POIs."""
    return service.list_destinations(db=db, city_id=city_id, kind=kind)


@router.post("/corridors/propose")
def propose(
    body: ProposeRequest, who: Planner, db: DbSession, ctx: PlatformContext
) -> dict[str, Any]:
    """The arterial corridors carrying most trips to the destination, with their signals."""
    return service.propose_corridors(
        db=db, who=who, body=body, data_dir=ctx.settings.data_dir, settings=traffic_settings()
    )


@router.post("/corridors", status_code=status.HTTP_201_CREATED)
def create_corridor(
    body: CorridorCreate, who: Planner, db: DbSession, ctx: PlatformContext
) -> dict[str, Any]:
    """Store a corridor (a proposal's nodes); its signals are found along it."""
    corridor = service.create_corridor(db=db, who=who, body=body, data_dir=ctx.settings.data_dir)
    return service.corridor_read(db, corridor)


@router.get("/corridors")
def list_corridors(
    who: Reader,
    db: DbSession,
    city_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[dict[str, Any]]:
    """Stored corridors within the caller's jurisdictions."""
    return [
        service.corridor_read(db, c)
        for c in service.list_corridors(db=db, who=who, city_id=city_id)
    ]


@router.get("/corridors/{corridor_id}")
def get_corridor(corridor_id: RowId, who: Reader, db: DbSession) -> dict[str, Any]:
    """One corridor with its signals and their current timing."""
    return service.corridor_read(db, service.get_corridor(db=db, who=who, corridor_id=corridor_id))


@router.post("/corridors/{corridor_id}/plans", status_code=status.HTTP_201_CREATED)
def create_plans(
    corridor_id: RowId, body: PlanRequest, who: Planner, db: DbSession, ctx: PlatformContext
) -> list[dict[str, Any]]:
    """A new plan version (one draft per period): Webster splits, MAXBAND offsets."""
    plans = service.create_plans(
        db=db,
        who=who,
        corridor_id=corridor_id,
        body=body,
        data_dir=ctx.settings.data_dir,
        settings=traffic_settings(),
    )
    return [service.plan_read(p) for p in plans]


@router.get("/corridors/{corridor_id}/plans")
def list_plans(corridor_id: RowId, who: Reader, db: DbSession) -> list[dict[str, Any]]:
    """The corridor's plan versions, newest first."""
    return [
        service.plan_read(p) for p in service.list_plans(db=db, who=who, corridor_id=corridor_id)
    ]


@router.get("/plans/{plan_id}")
def get_plan(plan_id: RowId, who: Reader, db: DbSession) -> dict[str, Any]:
    """One plan version."""
    plan, _corridor = service.get_plan(db=db, who=who, plan_id=plan_id)
    return service.plan_read(plan)


@router.get("/plans/{plan_id}/diagram.svg")
def plan_diagram(plan_id: RowId, who: Reader, db: DbSession) -> Response:
    """The plan's time-space diagram (SVG)."""
    plan, corridor = service.get_plan(db=db, who=who, plan_id=plan_id)
    return Response(service.diagram(plan, corridor), media_type="image/svg+xml")


@router.get("/plans/{plan_id}/export")
def plan_export(
    plan_id: RowId,
    who: Reader,
    db: DbSession,
    format: Annotated[ExportFormat, Query()] = "json",
) -> Response:
    """The plan as a SUMO tlLogic additional file or vendor-neutral JSON."""
    plan, corridor = service.get_plan(db=db, who=who, plan_id=plan_id)
    doc = service.export(db=db, plan=plan, corridor=corridor, fmt=format)
    stem = f"pingan-plan-{plan.id}-v{plan.version}-{plan.period}"
    if isinstance(doc, str):
        return Response(
            doc,
            media_type="application/xml",
            headers={"Content-Disposition": f'attachment; filename="{stem}.add.xml"'},
        )
    return JSONResponse(doc, headers={"Content-Disposition": f'attachment; filename="{stem}.json"'})


@router.get("/plans/{plan_id}/compare")
def plan_compare(plan_id: RowId, who: Reader, db: DbSession) -> dict[str, Any]:
    """Before/after: bandwidth, corridor travel time and stops (a deterministic estimate)."""
    plan, corridor = service.get_plan(db=db, who=who, plan_id=plan_id)
    return service.compare(db=db, plan=plan, corridor=corridor)


@router.post("/plans/{plan_id}/deploy")
def plan_deploy(plan_id: RowId, who: Deployer, db: DbSession) -> dict[str, Any]:
    """Mark the plan deployed (supersedes the period's deployed version; audited)."""
    return service.plan_read(service.deploy(db=db, who=who, plan_id=plan_id))


@router.post("/evaluations", status_code=status.HTTP_202_ACCEPTED)
def create_evaluation(
    body: EvaluationCreate, who: Planner, db: DbSession, ctx: PlatformContext, lang: Language
) -> dict[str, Any]:
    """Queue a SUMO evaluation (runs in its own process; poll for progress)."""
    row = evaluations.create(db=db, who=who, body=body, data_dir=ctx.settings.data_dir)
    return evaluations.read(row, lang)


@router.get("/evaluations")
def list_evaluations(who: Reader, db: DbSession, lang: Language) -> list[dict[str, Any]]:
    """The newest evaluations with their progress."""
    return [evaluations.read(r, lang) for r in evaluations.list_all(db=db, who=who)]


@router.get("/evaluations/{evaluation_id}")
def get_evaluation(
    evaluation_id: RowId, who: Reader, db: DbSession, lang: Language
) -> dict[str, Any]:
    """One evaluation: status, progress and (when done) the result table."""
    return evaluations.read(evaluations.get(db=db, who=who, evaluation_id=evaluation_id), lang)


# Emergency priority (green corridors ahead of units): /api/traffic/priority/...
router.include_router(_priority_router)
