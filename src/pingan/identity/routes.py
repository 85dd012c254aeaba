"""HTTP routes of the digital ID desk (mounted under ``/api``).

- bureau: clerks issue at the window; commanders and administrators revoke, suspend,
  reinstate and rotate keys; staff read credentials (masked) and relying parties; analysts,
  auditors, commanders and administrators read usage;
- public: the JWKS, status list tokens (``application/statuslist+jwt``), a request by its
  reference (the QR code is the capability; it expires in minutes) and the wallet's response;
- relying party (partner API key whose ``partner`` is the relying party's code): create a
  request for one of its scenarios, read its own results (another relying party gets 404).

``well_known_router`` is mounted at the root (not under ``/api``): the JWT VC Issuer Metadata
at ``/.well-known/jwt-vc-issuer`` and, as the SD-JWT VC draft derives it from the issuer
identifier ``https://<host>/identity``, at ``/.well-known/jwt-vc-issuer/identity``.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import Response

from pingan.core import clock
from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, PlatformContext, RowId
from pingan.core.privacy import CHINA_TZ
from pingan.identity import service
from pingan.identity.models import Credential
from pingan.identity.schemas import (
    CredentialIssue,
    CredentialIssued,
    CredentialRead,
    IssuerKeyRead,
    PresentationSubmit,
    RelyingPartyCreate,
    RelyingPartyRead,
    RequestCreate,
    RequestCreated,
    RequestPublic,
    RequestResult,
    StatusChange,
    UsageReport,
    VerdictRead,
)
from pingan.identity.statuslist import STATUS_LIST_MEDIA_TYPE

router = APIRouter(prefix="/identity", tags=["identity"])
well_known_router = APIRouter(tags=["identity", "public"])

Reader = Annotated[Principal, require("identity.read")]
Issuer = Annotated[Principal, require("identity.issue")]
StatusManager = Annotated[Principal, require("identity.status.manage")]
KeyManager = Annotated[Principal, require("identity.keys.manage")]
RpManager = Annotated[Principal, require("identity.rp.manage")]
UsageReader = Annotated[Principal, require("identity.usage.read")]
RelyingPartyKey = Annotated[Principal, require("identity.relying_party")]
RefPath = Annotated[
    str, Path(min_length=8, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="Request ref.")
]


def _credential_read(row: Credential) -> CredentialRead:
    return CredentialRead.model_validate(row, from_attributes=True)


def qr_svg(text: str) -> str:
    """``text`` as a QR code (error correction M) in SVG."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")


# ---------------------------------------------------------------------------- bureau


@router.post(
    "/credentials",
    response_model=CredentialIssued,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a resident credential",
)
def issue_credential(
    issue_in: CredentialIssue, who: Issuer, db: DbSession, ctx: PlatformContext
) -> Any:
    """Issue an SD-JWT VC bound to the holder's key; the platform keeps no copy of it."""
    row, sd_jwt = service.issue_credential(
        db=db, data_dir=ctx.settings.data_dir, issue_in=issue_in, actor=who
    )
    return CredentialIssued(credential=_credential_read(row), sd_jwt=sd_jwt)


@router.get("/credentials", response_model=list[CredentialRead], summary="List credentials")
def list_credentials(
    who: Reader,
    db: DbSession,
    ctx: PlatformContext,
    id_number: Annotated[str | None, Query(max_length=32)] = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(valid|revoked|suspended)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """Credentials within the caller's jurisdictions (masked); ``id_number`` finds a resident's."""
    rows = service.list_credentials(
        db=db,
        principal=who,
        data_dir=ctx.settings.data_dir,
        id_number=id_number,
        status=status_,
        limit=limit,
    )
    return [_credential_read(r) for r in rows]


@router.get("/credentials/{credential_id}", response_model=CredentialRead, summary="One credential")
def get_credential(credential_id: RowId, who: Reader, db: DbSession) -> Any:
    """One credential (masked)."""
    return _credential_read(
        service.get_credential(db=db, principal=who, credential_id=credential_id)
    )


def _status_route(action: str) -> Any:
    def change(credential_id: RowId, body: StatusChange, who: StatusManager, db: DbSession) -> Any:
        row = service.change_status(
            db=db, principal=who, credential_id=credential_id, action=action, reason=body.reason
        )
        return _credential_read(row)

    change.__doc__ = f"{action.capitalize()} a credential (with a reason); the status list changes."
    change.__name__ = f"{action}_credential"
    return change


for _action in ("revoke", "suspend", "reinstate"):
    router.add_api_route(
        f"/credentials/{{credential_id}}/{_action}",
        _status_route(_action),
        methods=["POST"],
        response_model=CredentialRead,
        summary=f"{_action.capitalize()} a credential",
    )


@router.get("/keys", response_model=list[IssuerKeyRead], summary="Issuer keys")
def list_keys(who: Reader, db: DbSession) -> Any:
    """The published issuer keys (public parts) with their status."""
    return [
        IssuerKeyRead.model_validate(k, from_attributes=True) for k in service.published_keys(db=db)
    ]


@router.post("/keys/rotate", response_model=IssuerKeyRead, summary="Rotate the issuer key")
def rotate_key(who: KeyManager, db: DbSession, ctx: PlatformContext) -> Any:
    """A new active key; the old one stays in the JWKS until its credentials have expired."""
    row = service.rotate_key(db=db, data_dir=ctx.settings.data_dir, actor=who)
    return IssuerKeyRead.model_validate(row, from_attributes=True)


@router.get("/relying-parties", response_model=list[RelyingPartyRead], summary="Relying parties")
def list_relying_parties(who: Reader, db: DbSession) -> Any:
    """Registered enterprises and the scenarios each may use."""
    rows = service.list_relying_parties(db=db, principal=who)
    return [RelyingPartyRead.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/relying-parties",
    response_model=RelyingPartyRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a relying party",
)
def register_relying_party(rp_in: RelyingPartyCreate, who: RpManager, db: DbSession) -> Any:
    """Register an enterprise; its partner API keys carry ``partner = code``."""
    row = service.register_relying_party(db=db, rp_in=rp_in, actor=who)
    return RelyingPartyRead.model_validate(row, from_attributes=True)


@router.get("/usage", response_model=UsageReport, summary="Usage per scenario and day")
def usage(
    who: UsageReader,
    db: DbSession,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Uses, accepted, rejected by reason, distinct people and enterprises (default: the
    30 days up to the end of today, China time)."""
    if until is None:  # the end of today, China time: today's uses are included
        tomorrow = clock.now().astimezone(CHINA_TZ).date() + timedelta(days=1)
        until = datetime.combine(tomorrow, time(0), tzinfo=CHINA_TZ)
    start = since or until - timedelta(days=30)
    return service.usage(db=db, principal=who, since=start, until=until)


# ---------------------------------------------------------------------------- public


@router.get("/jwks", summary="Issuer public keys (JWKS)", tags=["public"])
def jwks(db: DbSession) -> Any:
    """The active key and retired keys still published (public parts only)."""
    return service.jwks(db=db)


ISSUER_METADATA_PATH = "/.well-known/jwt-vc-issuer"


def _issuer_metadata(db: DbSession) -> Any:
    """JWT VC Issuer Metadata: ``issuer`` (the ``iss`` of every credential) and ``jwks``."""
    return service.issuer_metadata(db=db)


for _path in (ISSUER_METADATA_PATH, ISSUER_METADATA_PATH + service.ISSUER_PATH):
    well_known_router.add_api_route(
        _path,
        _issuer_metadata,
        methods=["GET"],
        summary="JWT VC Issuer Metadata (SD-JWT VC)",
        name=f"issuer_metadata{_path.replace('/', '_').replace('.', '_').replace('-', '_')}",
    )


@router.get(
    "/status-lists/{list_id}",
    summary="A status list token",
    tags=["public"],
    response_class=Response,
    responses={200: {"content": {STATUS_LIST_MEDIA_TYPE: {}}}},
)
def status_list(list_id: RowId, db: DbSession, ctx: PlatformContext) -> Response:
    """The signed Token Status List (``application/statuslist+jwt``)."""
    token = service.status_list_token(db=db, data_dir=ctx.settings.data_dir, list_id=list_id)
    return Response(
        token,
        media_type=STATUS_LIST_MEDIA_TYPE,
        headers={"Cache-Control": f"max-age={service.STATUS_TOKEN_TTL_S}"},
    )


@router.get(
    "/requests/{ref}", response_model=RequestPublic, summary="A request (wallet)", tags=["public"]
)
def get_request(ref: RefPath, db: DbSession) -> Any:
    """What is asked and by whom; public because the QR code is the capability."""
    return service.public_request(db=db, ref=ref)


@router.post(
    "/requests/{ref}/response",
    response_model=VerdictRead,
    summary="Answer a request (wallet)",
    tags=["public"],
)
def respond(ref: RefPath, body: PresentationSubmit, db: DbSession, ctx: PlatformContext) -> Any:
    """Check the presentation: accept or reject with the reason (zh-CN and en)."""
    outcome = service.respond(
        db=db, data_dir=ctx.settings.data_dir, ref=ref, presentation=body.presentation
    )
    v = outcome.verdict
    return VerdictRead(
        ref=outcome.ref,
        accepted=v.accepted,
        reason=v.reason,
        part=v.part,
        message=service.reason_messages(v.reason),
    )


# ---------------------------------------------------------------------------- relying party


@router.post(
    "/requests",
    response_model=RequestCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create a presentation request (relying party)",
    tags=["partner"],
)
def create_request(
    body: RequestCreate, who: RelyingPartyKey, db: DbSession, request: Request
) -> Any:
    """A request reference for the QR code, with the QR code as SVG."""
    row, _rp = service.create_request(db=db, principal=who, scenario_id=body.scenario)
    base = str(request.base_url).rstrip("/")
    url = f"{base}/api/identity/requests/{row.ref}"
    payload = f"pingan-id://request?ref={row.ref}&host={quote(base, safe='')}"
    return RequestCreated(
        ref=row.ref,
        scenario=row.scenario_id,
        expires_at=row.expires_at,
        url=url,
        qr_payload=payload,
        qr_svg=qr_svg(payload),
    )


@router.get(
    "/requests/{ref}/result",
    response_model=RequestResult,
    summary="A request's result (relying party)",
    tags=["partner"],
)
def request_result(ref: RefPath, who: RelyingPartyKey, db: DbSession) -> Any:
    """Pending, or the verdict and (once) the disclosed claims; other relying parties get 404."""
    return service.request_result(db=db, principal=who, ref=ref)


# ---------------------------------------------------------------------------- self-service issuance

from pingan.identity.selfservice_routes import router as _selfservice  # noqa: E402
from pingan.identity.selfservice_routes import well_known_router as _selfservice_root  # noqa: E402

router.include_router(_selfservice)
well_known_router.include_router(_selfservice_root)
