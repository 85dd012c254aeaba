"""HTTP routes of the editable triage rules and run cards (研判规则 · 出动标准)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession
from pingan.dispatch import rulesets
from pingan.dispatch.rules_schemas import (
    TriageRuleSetSummary,
    TriageRulesRead,
    TriageRulesRevert,
    TriageRulesUpdate,
)

router = APIRouter()

Reader = Annotated[Principal, require("dispatch.read")]
RulesManager = Annotated[Principal, require("dispatch.rules.manage")]


@router.get("/triage-rules", response_model=TriageRulesRead, summary="Triage rules in force")
def get_triage_rules(who: Reader, db: DbSession) -> Any:
    """The whole triage rule set in force (call types, run cards, keyword rules) and its author.

    ``id`` is null while the shipped defaults are in force.
    """
    return rulesets.current(db=db)


@router.put(
    "/triage-rules",
    response_model=TriageRulesRead,
    summary="Save a new version of the triage rules",
)
def put_triage_rules(body: TriageRulesUpdate, who: RulesManager, db: DbSession) -> Any:
    """Validate the document and make it the rules in force for every desk process.

    A bad document is a 422 naming ``document.<path>``; one identical to the rules in
    force a 409; nothing is written in either case.
    """
    row = rulesets.save(db=db, document=body.document, note=body.note, actor=who)
    return rulesets.rule_set_read(row)


@router.get(
    "/triage-rules/history",
    response_model=list[TriageRuleSetSummary],
    summary="Saved versions of the triage rules",
)
def triage_rules_history(
    who: Reader, db: DbSession, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Any:
    """The saved versions, newest (in force) first; empty while the defaults are in force."""
    return rulesets.history(db=db, limit=limit)


@router.post(
    "/triage-rules/revert",
    response_model=TriageRulesRead,
    status_code=status.HTTP_201_CREATED,
    summary="Make an older version of the triage rules current again",
)
def revert_triage_rules(body: TriageRulesRevert, who: RulesManager, db: DbSession) -> Any:
    """Append a copy of an older version (``id`` null: the shipped defaults) as the newest."""
    row = rulesets.revert(db=db, rule_set_id=body.id, note=body.note, actor=who)
    return rulesets.rule_set_read(row)
