"""HTTP routes of the event security mode (大型活动安保), under ``/api/dispatch/security-events``.

Thin: parse, authorise, call :mod:`pingan.dispatch.security`, shape the answer.
Commanders and admins manage events (``dispatch.security.manage``); every staff role
with ``dispatch.read`` reads them, within its jurisdictions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, PlatformContext, RowId
from pingan.dispatch import security
from pingan.dispatch.security_schemas import (
    PostsAssign,
    PostsPropose,
    SecurityBoard,
    SecurityEventCreate,
    SecurityEventRead,
    VenuePreset,
)

router = APIRouter()

Reader = Annotated[Principal, require("dispatch.read")]
Manager = Annotated[Principal, require("dispatch.security.manage")]


@router.post(
    "/security-events",
    response_model=SecurityEventRead,
    status_code=status.HTTP_201_CREATED,
    tags=["dispatch"],
    summary="Declare an event under security",
)
def create_event(
    event_in: SecurityEventCreate, who: Manager, db: DbSession, ctx: PlatformContext
) -> Any:
    """A large event: perimeter polygon, expected crowd, time window (status ``planned``)."""
    event = security.create_event(
        db=db, event_in=event_in, actor=who, principal=who, data_dir=ctx.settings.data_dir
    )
    return security.event_read(db=db, event=event)


@router.get(
    "/security-events",
    response_model=list[SecurityEventRead],
    tags=["dispatch"],
    summary="Events under security",
)
def list_events(
    who: Reader,
    db: DbSession,
    city_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status_: Annotated[Literal["planned", "active", "ended"] | None, Query(alias="status")] = None,
) -> Any:
    """The events the caller may see, the latest start first."""
    rows = security.list_events(db=db, principal=who, city_id=city_id, status=status_)
    return [security.event_read(db=db, event=e) for e in rows]


@router.get(
    "/security-events/presets",
    response_model=list[VenuePreset],
    tags=["dispatch"],
    summary="Demo venues",
)
def venue_presets(who: Reader, city: Annotated[str | None, Query(max_length=100)] = None) -> Any:
    """Named demo perimeters (a venue and a typical crowd) for planning and the demo."""
    return security.presets(city)


@router.get(
    "/security-events/{event_id}",
    response_model=SecurityEventRead,
    tags=["dispatch"],
    summary="One event under security",
)
def get_event(event_id: RowId, who: Reader, db: DbSession) -> Any:
    """One event with its posts and the units staffing them."""
    event = security.get_event(db=db, event_id=event_id, principal=who)
    return security.event_read(db=db, event=event)


@router.post(
    "/security-events/{event_id}/posts/propose",
    response_model=SecurityEventRead,
    tags=["dispatch"],
    summary="Propose security posts (p-median)",
)
def propose_posts(
    event_id: RowId,
    propose_in: PostsPropose,
    who: Manager,
    db: DbSession,
    ctx: PlatformContext,
) -> Any:
    """Posts for foot patrols, K9 and drones covering the venue and its approach roads."""
    event = security.propose_posts(
        db=db,
        event_id=event_id,
        propose_in=propose_in,
        actor=who,
        principal=who,
        data_dir=ctx.settings.data_dir,
    )
    return security.event_read(db=db, event=event)


@router.post(
    "/security-events/{event_id}/posts/assign",
    response_model=SecurityEventRead,
    tags=["dispatch"],
    summary="Assign units to the posts",
)
def assign_units(
    event_id: RowId,
    assign_in: PostsAssign,
    who: Manager,
    db: DbSession,
    ctx: PlatformContext,
) -> Any:
    """Staff the posts with available units of the right kind, nearest by road ETA."""
    event = security.assign_units(
        db=db,
        event_id=event_id,
        assign_in=assign_in,
        actor=who,
        principal=who,
        data_dir=ctx.settings.data_dir,
    )
    return security.event_read(db=db, event=event)


@router.post(
    "/security-events/{event_id}/activate",
    response_model=SecurityEventRead,
    tags=["dispatch"],
    summary="Activate the event's security mode",
)
def activate(event_id: RowId, who: Manager, db: DbSession) -> Any:
    """From now, calls inside the perimeter during the window are raised one priority level."""
    event = security.activate_event(db=db, event_id=event_id, actor=who, principal=who)
    return security.event_read(db=db, event=event)


@router.post(
    "/security-events/{event_id}/end",
    response_model=SecurityEventRead,
    tags=["dispatch"],
    summary="End the event's security mode",
)
def end(event_id: RowId, who: Manager, db: DbSession) -> Any:
    """End the event; its posts release their units."""
    event = security.end_event(db=db, event_id=event_id, actor=who, principal=who)
    return security.event_read(db=db, event=event)


@router.get(
    "/security-events/{event_id}/board",
    response_model=SecurityBoard,
    tags=["dispatch"],
    summary="The commander's board of an event",
)
def event_board(event_id: RowId, who: Reader, db: DbSession) -> Any:
    """Posts with their units (status, position, staleness), incidents inside, counts."""
    return security.board(db=db, event_id=event_id, principal=who)
