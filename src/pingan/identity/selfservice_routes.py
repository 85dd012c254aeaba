"""HTTP routes of self-service issuance (OpenID4VCI 1.0 pre-authorized code flow).

Under ``/api/identity`` (this router is included in the desk's router):

- ``POST /offers``, ``GET /offers/{ref}`` — a clerk (``identity.issue``) who checked the person;
- ``POST /kiosks``, ``GET /kiosks`` — register (administrator, ``identity.kiosk.manage``; the
  kiosk's API key is answered once) and list (staff) kiosks;
- ``POST /kiosks/{code}/offers``, ``GET /kiosks/{code}/offers/{ref}`` — a kiosk's own API key
  (``identity.kiosk``; a key bound to no kiosk gets 404, another kiosk's key 403);
- ``POST /oid4vci/token`` (form-encoded), ``POST /oid4vci/nonce`` — public (OAuth);
- ``POST /oid4vci/credential`` — authorised by the OpenID4VCI access token alone (``Bearer``);
  any other credential, the platform's included, is a 401 ``invalid_token``.

``well_known_router`` (mounted at the root): the Credential Issuer Metadata at
``/.well-known/openid-credential-issuer`` and ``/.well-known/openid-credential-issuer/identity``
(the issuer identifier's path appended, as OpenID4VCI 1.0 builds it), and the authorization
server metadata (RFC 8414) at ``/.well-known/oauth-authorization-server/identity``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import JSONResponse

from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, Language, PlatformContext
from pingan.core.i18n import translate
from pingan.identity import selfservice, service
from pingan.identity.selfservice_models import CredentialOffer, Kiosk
from pingan.identity.selfservice_schemas import (
    KioskCreate,
    KioskOfferCreate,
    KioskRead,
    KioskRegistered,
    OfferCreated,
    OfferRead,
    WindowOfferCreate,
)

router = APIRouter()
well_known_router = APIRouter(tags=["identity", "public"])

Issuer = Annotated[Principal, require("identity.issue")]
Reader = Annotated[Principal, require("identity.read")]
KioskManager = Annotated[Principal, require("identity.kiosk.manage")]
KioskKey = Annotated[Principal, require(selfservice.KIOSK_PERMISSION)]
RefPath = Annotated[
    str, Path(min_length=8, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="Offer ref.")
]
KioskCode = Annotated[
    str, Path(min_length=2, max_length=64, pattern=r"^[a-z0-9_\-]+$", description="Kiosk code.")
]
MAX_BODY = 65_536


def _created(offer: selfservice.NewOffer, check_id: int) -> OfferCreated:
    from pingan.identity.routes import qr_svg

    return OfferCreated(
        ref=offer.row.ref,
        check_id=check_id,
        expires_at=offer.row.expires_at,
        credential_offer=offer.credential_offer,
        offer_uri=offer.offer_uri,
        qr_svg=qr_svg(offer.offer_uri),
        tx_code=offer.tx_code,
    )


def _offer_read(row: CredentialOffer) -> OfferRead:
    return OfferRead(
        ref=row.ref,
        channel=row.channel,
        state=selfservice.offer_state(row),
        id_number_masked=row.id_number_masked,
        created_at=row.created_at,
        expires_at=row.expires_at,
        tx_failures=row.tx_failures,
        credential_id=row.credential_id,
        issued_at=row.issued_at,
    )


def _kiosk_read(row: Kiosk) -> KioskRead:
    return KioskRead.model_validate(row, from_attributes=True)


def _answer(answer: selfservice.OAuthAnswer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


# ---------------------------------------------------------------------------- window and kiosks


@router.post(
    "/offers",
    response_model=OfferCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Offer a credential for self-service receipt (clerk)",
)
def create_window_offer(
    body: WindowOfferCreate, who: Issuer, db: DbSession, ctx: PlatformContext
) -> Any:
    """After checking the person at the window: a credential offer (QR) and its PIN."""
    offer = selfservice.window_offer(db=db, data_dir=ctx.settings.data_dir, body=body, actor=who)
    return _created(offer, offer.row.check_id)


@router.get("/offers/{ref}", response_model=OfferRead, summary="An offer's state (clerk)")
def get_window_offer(ref: RefPath, who: Issuer, db: DbSession) -> Any:
    """Offered, token issued, issued, burnt or expired (no codes)."""
    return _offer_read(selfservice.get_offer(db=db, ref=ref, principal=who))


@router.post(
    "/kiosks",
    response_model=KioskRegistered,
    status_code=status.HTTP_201_CREATED,
    summary="Register a self-service kiosk",
)
def register_kiosk(body: KioskCreate, who: KioskManager, db: DbSession) -> Any:
    """A kiosk in a district and its API key (shown once)."""
    row, plain = selfservice.register_kiosk(db=db, kiosk_in=body, actor=who)
    return KioskRegistered(kiosk=_kiosk_read(row), api_key=plain)


@router.get("/kiosks", response_model=list[KioskRead], summary="Self-service kiosks")
def list_kiosks(who: Reader, db: DbSession) -> Any:
    """Kiosks within the caller's jurisdictions."""
    return [_kiosk_read(k) for k in selfservice.list_kiosks(db=db, principal=who)]


@router.post(
    "/kiosks/{code}/offers",
    response_model=OfferCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Check a person at a kiosk and offer a credential (kiosk)",
    tags=["partner"],
    responses={422: {"description": "Refused by the policy (reason, field) or bad input"}},
)
def create_kiosk_offer(
    code: KioskCode,
    body: KioskOfferCreate,
    who: KioskKey,
    db: DbSession,
    ctx: PlatformContext,
    lang: Language,
) -> Any:
    """The chip data and the kiosk's checks; the policy decides; the check is recorded."""
    kiosk = selfservice.kiosk_for(db=db, principal=who, code=code)
    outcome = selfservice.kiosk_offer(
        db=db, data_dir=ctx.settings.data_dir, kiosk=kiosk, body=body, actor=who
    )
    if outcome.offer is None:
        # Answered, not raised: the refused check is recorded (the session commits).
        reason = outcome.check.reason
        return JSONResponse(
            {
                "error": {
                    "code": f"identity.error.check_{reason}",
                    "message": translate(f"identity.error.check_{reason}", lang),
                    "field": outcome.field,
                    "reason": reason,
                    "check_id": outcome.check.id,
                }
            },
            status_code=422,
        )
    return _created(outcome.offer, outcome.check.id)


@router.get(
    "/kiosks/{code}/offers/{ref}",
    response_model=OfferRead,
    summary="An offer's state (kiosk)",
    tags=["partner"],
)
def get_kiosk_offer(code: KioskCode, ref: RefPath, who: KioskKey, db: DbSession) -> Any:
    """One of this kiosk's offers (another kiosk's is 404)."""
    kiosk = selfservice.kiosk_for(db=db, principal=who, code=code)
    return _offer_read(selfservice.get_offer(db=db, ref=ref, principal=who, kiosk=kiosk))


# ---------------------------------------------------------------------------- OpenID4VCI


async def _form(request: Request) -> dict[str, str] | None:
    """An ``application/x-www-form-urlencoded`` body (None: another type, or a repeated
    parameter, which RFC 6749 forbids)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if kind != "application/x-www-form-urlencoded" or len(raw) > MAX_BODY:
        return None
    try:
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    if any(len(values) != 1 for values in parsed.values()):
        return None
    return {k: v[0] for k, v in parsed.items()}


async def _json(request: Request) -> Any:
    """The JSON body (None when absent or not JSON)."""
    raw = await request.body()
    if not raw or len(raw) > MAX_BODY:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


@router.post(
    "/oid4vci/token",
    summary="Token endpoint (OpenID4VCI pre-authorized code)",
    tags=["public"],
    response_class=JSONResponse,
)
def oid4vci_token(
    db: DbSession,
    ctx: PlatformContext,
    form: Annotated[dict[str, str] | None, Depends(_form)],
) -> JSONResponse:
    """``grant_type``, ``pre-authorized_code``, ``tx_code`` (form) → access token, or an
    OAuth error (``invalid_request``, ``invalid_grant``, ``unsupported_grant_type``)."""
    if form is None:
        return _answer(
            selfservice.OAuthAnswer.error(
                400, "invalid_request", "an application/x-www-form-urlencoded body is expected"
            )
        )
    return _answer(selfservice.token(db=db, data_dir=ctx.settings.data_dir, form=form))


@router.post(
    "/oid4vci/nonce",
    summary="Nonce endpoint (OpenID4VCI)",
    tags=["public"],
    response_class=JSONResponse,
)
def oid4vci_nonce(db: DbSession) -> JSONResponse:
    """A fresh single-use ``c_nonce`` for the key proof."""
    return _answer(selfservice.new_nonce(db=db))


@router.post(
    "/oid4vci/credential",
    summary="Credential endpoint (OpenID4VCI)",
    tags=["public"],
    response_class=JSONResponse,
)
def oid4vci_credential(
    request: Request, db: DbSession, ctx: PlatformContext, body: Annotated[Any, Depends(_json)]
) -> JSONResponse:
    """``Authorization: Bearer <access token>`` and ``{"credential_configuration_id",
    "proofs": {"jwt": [proof]}}`` → ``{"credentials": [{"credential": "<SD-JWT VC>"}]}``."""
    return _answer(
        selfservice.credential(
            db=db,
            data_dir=ctx.settings.data_dir,
            authorization=request.headers.get("authorization"),
            body=body,
        )
    )


# ---------------------------------------------------------------------------- metadata


def _credential_issuer_metadata() -> Any:
    """Credential Issuer Metadata (OpenID4VCI 1.0)."""
    return selfservice.credential_issuer_metadata()


def _authorization_server_metadata() -> Any:
    """OAuth 2.0 Authorization Server Metadata (RFC 8414) of the credential issuer."""
    return selfservice.authorization_server_metadata()


CREDENTIAL_ISSUER_PATH = "/.well-known/openid-credential-issuer"
for _path in (CREDENTIAL_ISSUER_PATH, CREDENTIAL_ISSUER_PATH + service.ISSUER_PATH):
    well_known_router.add_api_route(
        _path,
        _credential_issuer_metadata,
        methods=["GET"],
        summary="Credential Issuer Metadata (OpenID4VCI)",
        name=f"credential_issuer{_path.replace('/', '_').replace('.', '_').replace('-', '_')}",
    )
well_known_router.add_api_route(
    "/.well-known/oauth-authorization-server" + service.ISSUER_PATH,
    _authorization_server_metadata,
    methods=["GET"],
    summary="Authorization Server Metadata (RFC 8414)",
    name="authorization_server_identity",
)
