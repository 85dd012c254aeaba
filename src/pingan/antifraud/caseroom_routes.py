"""HTTP routes of the linkage case room and the year-on-year dashboard (under ``/api``).

Staff: open a room for an urgent warning, list and read the rooms one may see (members;
supervisors of the jurisdiction), invite units (one user, one bank or a whole team), post
timeline entries, close. Banks: the rooms they were invited to, through their partner API
key (another room is a 404): read what concerns them, post short messages while the room
is open. Included by :mod:`pingan.antifraud.routes`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from pingan.antifraud import caseroom, service, yoy
from pingan.antifraud.caseroom_schemas import (
    BankEntryCreate,
    CaseRoomBrief,
    CaseRoomClose,
    CaseRoomCreate,
    CaseRoomRead,
    EntryCreate,
    MemberCreate,
    RoomStatus,
    YearOnYear,
)
from pingan.antifraud.models import CaseRoom
from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, RowId

router = APIRouter(tags=["antifraud"])

RoomReader = Annotated[Principal, require("antifraud.caseroom")]
RoomOpener = Annotated[Principal, require("antifraud.caseroom.open")]
BankReader = Annotated[Principal, require("antifraud.caseroom.partner")]  # reads and posts
DashboardReader = Annotated[Principal, require("antifraud.dashboard")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _read(db: Session, room: CaseRoom) -> CaseRoomRead:
    return caseroom.room_read(db=db, room=room)


@router.post(
    "/case-rooms",
    response_model=CaseRoomRead,
    status_code=status.HTTP_201_CREATED,
    summary="Open a linkage case room",
)
def open_room(room_in: CaseRoomCreate, who: RoomOpener, db: DbSession) -> Any:
    """For an urgent warning (high, or money moving): 422 on ``warning_id`` otherwise, 409
    when it already has an open room; the opener becomes its first member."""
    room = caseroom.open_room(db=db, room_in=room_in, actor=who)
    return _read(db, room)


@router.get("/case-rooms", response_model=list[CaseRoomBrief], summary="Case rooms")
def list_rooms(
    who: RoomReader,
    db: DbSession,
    status_: Annotated[RoomStatus, Query(alias="status")] = "open",
    limit: Limit = 200,
) -> Any:
    """The rooms the caller is a member of (supervisors: every room of their
    jurisdictions), newest first."""
    rooms = caseroom.list_rooms(db=db, principal=who, status=status_, limit=limit)
    return [caseroom.room_brief(db=db, room=r) for r in rooms]


@router.get("/case-rooms/{room_id}", response_model=CaseRoomRead, summary="One case room")
def get_room(room_id: RowId, who: RoomReader, db: DbSession) -> Any:
    """Members, the shared timeline (room entries and the warning's records, by time)
    and the money requested and intercepted."""
    return _read(db, caseroom.get_room(db=db, room_id=room_id, principal=who))


@router.post(
    "/case-rooms/{room_id}/members",
    response_model=CaseRoomRead,
    status_code=status.HTTP_201_CREATED,
    summary="Invite a unit",
)
def add_member(
    room_id: RowId, member_in: MemberCreate, who: RoomReader, db: DbSession, response: Response
) -> Any:
    """A user of the room's jurisdiction (``username``), a bank (``partner``) or every
    member of a team (``team_id``: its active members who may join and are not in the room
    yet; inviting it again adds nobody and answers 200); the room's commander or a
    supervisor only."""
    if member_in.team_id is not None:
        added = caseroom.add_team(db=db, room_id=room_id, member_in=member_in, actor=who)
        if not added:
            response.status_code = status.HTTP_200_OK
    else:
        caseroom.add_member(db=db, room_id=room_id, member_in=member_in, actor=who)
    return _read(db, caseroom.get_room(db=db, room_id=room_id, principal=who))


@router.post(
    "/case-rooms/{room_id}/entries",
    response_model=CaseRoomRead,
    status_code=status.HTTP_201_CREATED,
    summary="Post a timeline entry",
)
def post_entry(room_id: RowId, entry_in: EntryCreate, who: RoomReader, db: DbSession) -> Any:
    """A note or an action (call made, account frozen, suspect located, funds traced)."""
    caseroom.post_entry(db=db, room_id=room_id, entry_in=entry_in, actor=who)
    return _read(db, caseroom.get_room(db=db, room_id=room_id, principal=who))


@router.post("/case-rooms/{room_id}/close", response_model=CaseRoomRead, summary="Close a room")
def close_room(room_id: RowId, close_in: CaseRoomClose, who: RoomReader, db: DbSession) -> Any:
    """With the case's outcome; the room's commander or a supervisor; 409 on ``status``
    when already closed."""
    room = caseroom.close_room(db=db, room_id=room_id, close_in=close_in, actor=who)
    return _read(db, room)


@router.get(
    "/partner/case-rooms", response_model=list[CaseRoomBrief], summary="A bank's case rooms"
)
def bank_rooms(who: BankReader, db: DbSession, limit: Limit = 200) -> Any:
    """The case rooms the calling bank was invited to, newest first."""
    partner = service.partner_code(db=db, principal=who)
    rooms = caseroom.partner_rooms(db=db, partner=partner, limit=limit)
    return [caseroom.room_brief(db=db, room=r) for r in rooms]


@router.get(
    "/partner/case-rooms/{room_id}", response_model=CaseRoomRead, summary="A bank's case room"
)
def bank_room(room_id: RowId, who: BankReader, db: DbSession) -> Any:
    """One room the calling bank was invited to, read-only: the money lines of the timeline
    (its own stop-payments), the units; another room is a 404."""
    partner = service.partner_code(db=db, principal=who)
    room = caseroom.partner_room(db=db, partner=partner, room_id=room_id)
    return caseroom.partner_read(db=db, room=room, partner=partner or "")


@router.post(
    "/partner/case-rooms/{room_id}/entries",
    response_model=CaseRoomRead,
    status_code=status.HTTP_201_CREATED,
    summary="A bank posts to its case room",
)
def bank_post(room_id: RowId, entry_in: BankEntryCreate, who: BankReader, db: DbSession) -> Any:
    """A short message (``note``, ``account_frozen``, ``funds_traced``) to a room the calling
    bank was invited to, shown in the shared timeline as from the bank; another room is a
    404, a closed room a 409 on ``status``. Answers the room as the bank sees it."""
    partner = service.partner_code(db=db, principal=who)
    caseroom.partner_post(db=db, partner=partner, room_id=room_id, entry_in=entry_in, actor=who)
    room = caseroom.partner_room(db=db, partner=partner, room_id=room_id)
    return caseroom.partner_read(db=db, room=room, partner=partner or "")


@router.get(
    "/dashboard/year-on-year",
    response_model=YearOnYear,
    summary="Cases and losses year on year",
)
def year_on_year(
    who: DashboardReader,
    db: DbSession,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Any:
    """Per month of ``year`` (default: this year, to today): cases and money lost against
    the same months last year, with the change in percent — from the records of the
    caller's jurisdictions."""
    return yoy.year_on_year(db=db, principal=who, year=year)
