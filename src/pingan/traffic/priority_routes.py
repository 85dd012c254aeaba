"""HTTP routes of emergency priority (mounted under ``/api/traffic/priority``).

The router's prefix is ``/priority``: the desk's router (prefix ``/traffic``) includes it.

Thin: parse, authorise, call :mod:`pingan.traffic.priority_service`, shape the answer.
Reading needs ``traffic.read``; asking for or cancelling a corridor ``traffic.priority``.
A corridor belongs to the jurisdiction of its destination: others' corridors are 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status

from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, PlatformContext, RowId
from pingan.traffic import priority_service as service
from pingan.traffic.priority_schemas import (
    ActiveCorridors,
    CorridorCancel,
    CorridorRead,
    ManualPriorityRequest,
)

router = APIRouter(prefix="/priority", tags=["traffic"])

Reader = Annotated[Principal, require("traffic.read")]
Requester = Annotated[Principal, require("traffic.priority")]


@router.get("/active", response_model=ActiveCorridors, summary="Active green corridors")
def active(who: Reader, db: DbSession) -> ActiveCorridors:
    """Every active green corridor the caller may see, with its route and signal requests."""
    return service.active_read(db=db, principal=who)


@router.post(
    "/requests",
    response_model=CorridorRead,
    status_code=status.HTTP_201_CREATED,
    summary="Request a green corridor",
)
def request_corridor(
    request_in: ManualPriorityRequest, who: Requester, db: DbSession, ctx: PlatformContext
) -> CorridorRead:
    """Ask for green along a route: from a unit or a point, to a point or a hospital."""
    corridor = service.request_manual(
        db=db, data_dir=ctx.settings.data_dir, request_in=request_in, principal=who
    )
    return service.corridor_read(corridor)


@router.get("/{corridor_id}", response_model=CorridorRead, summary="One green corridor")
def get_corridor(corridor_id: RowId, who: Reader, db: DbSession) -> CorridorRead:
    """A corridor (active or ended) with its signals' requests and their states."""
    return service.corridor_read(
        service.get_corridor(db=db, corridor_id=corridor_id, principal=who)
    )


@router.post(
    "/{corridor_id}/cancel", response_model=CorridorRead, summary="Cancel a green corridor"
)
def cancel_corridor(
    corridor_id: RowId, cancel_in: CorridorCancel, who: Requester, db: DbSession
) -> CorridorRead:
    """Cancel an active corridor: every held signal returns to its coordinated plan."""
    corridor = service.cancel(
        db=db, corridor_id=corridor_id, reason=cancel_in.reason, principal=who
    )
    return service.corridor_read(corridor)
