"""FastAPI dependencies every desk's routes use: the request's session and language.

A session per request, committed when the route function returns without raising
(before the response is sent, so a failed commit is a failed request).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from pingan.core.i18n import normalise_language
from pingan.core.module import Context


def get_context(request: Request) -> Context:
    """The platform context the app was built with."""
    ctx: Context = request.app.state.ctx
    return ctx


def get_db(request: Request) -> Iterator[Session]:
    """A session for this request; commits on success, rolls back on error."""
    ctx = get_context(request)
    with ctx.db.session() as session:
        yield session


def get_language(request: Request) -> str:
    """The caller's language: ``?lang=``, then the ``pingan_lang`` cookie, then Accept-Language."""
    explicit = request.query_params.get("lang") or request.cookies.get("pingan_lang")
    return normalise_language(explicit or request.headers.get("accept-language"))


DbSession = Annotated[Session, Depends(get_db, scope="function")]
Language = Annotated[str, Depends(get_language)]
PlatformContext = Annotated[Context, Depends(get_context)]

MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Row id (1 to 2^31-1).")]
"""A path id: bounded to the INTEGER primary keys, so a huge number is a 422, not a 500."""
