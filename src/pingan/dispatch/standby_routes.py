"""HTTP routes of move-up (补位): standby posts, proposals, sending a unit to a post."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, PlatformContext, RowId
from pingan.dispatch import service, standby
from pingan.dispatch.schemas import UnitRead
from pingan.dispatch.schemas_standby import MoveUpRead, StandbyPostRead, StandbyRequest

router = APIRouter()

Reader = Annotated[Principal, require("dispatch.read")]
Dispatcher = Annotated[Principal, require("dispatch.dispatch")]
UnitManager = Annotated[Principal, require("dispatch.units.manage")]


@router.get(
    "/standby-posts", response_model=list[StandbyPostRead], summary="A city's standby posts"
)
def list_standby_posts(
    who: Reader, db: DbSession, city_id: Annotated[int, Query(ge=1, le=2**31 - 1)]
) -> Any:
    """The city's standby posts (move-up plan), rank 1 first; empty until planned."""
    return [standby.post_read(p) for p in standby.list_posts(db=db, city_id=city_id)]


@router.post(
    "/standby-posts/plan",
    response_model=list[StandbyPostRead],
    summary="Plan a city's standby posts now",
)
def plan_standby_posts(
    who: UnitManager,
    db: DbSession,
    ctx: PlatformContext,
    city_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Any:
    """Re-plan the posts from the city's recorded incidents (or POIs when too few) now."""
    posts = standby.plan_posts(db=db, city_id=city_id, data_dir=ctx.settings.data_dir, actor=who)
    return [standby.post_read(p) for p in posts]


@router.get("/move-up", response_model=MoveUpRead, summary="Move-up proposals")
def move_up_proposals(
    who: Reader,
    db: DbSession,
    ctx: PlatformContext,
    city_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Any:
    """Which idle units should move to which standby posts now (proposals to accept)."""
    return standby.move_up_proposals(
        db=db, city_id=city_id, data_dir=ctx.settings.data_dir, principal=who
    )


@router.post(
    "/units/{unit_id}/standby", response_model=UnitRead, summary="Send a unit to a standby post"
)
def send_to_standby(
    unit_id: RowId,
    standby_in: StandbyRequest,
    who: Dispatcher,
    db: DbSession,
    ctx: PlatformContext,
) -> Any:
    """Send an available unit to a post (by rank or point); it stays available (assignable)."""
    unit = standby.send_to_standby(
        db=db,
        unit_id=unit_id,
        standby_in=standby_in,
        actor=who,
        data_dir=ctx.settings.data_dir,
        principal=who,
    )
    return service.unit_read(unit)
