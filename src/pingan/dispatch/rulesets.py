"""Editable triage rules and run cards (研判规则 · 出动标准): save, list, revert.

A supervisor (commander) edits the rule set the desk triages with: per call type the
priority and the run card, and everything else in the JSON document. Every save is a
new row of ``dispatch_triage_rule_sets`` (append-only history); the rules in force are
the newest row, else the shipped defaults (:func:`pingan.dispatch.service.load_rules`,
which every process consults cheaply when it takes or re-classifies a call). A
document is validated in full before anything is written: a bad one is a 422 naming
``document.<path>`` (``document.call_types[3].run_card[0].count``). Service functions
never commit.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.core import audit, clock
from pingan.core.auth.permissions import Principal, actor_name
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.outbox import record
from pingan.dispatch import service
from pingan.dispatch.events import TriageRulesChanged
from pingan.dispatch.models import TriageRuleSet
from pingan.dispatch.rules_schemas import TriageRuleSetSummary, TriageRulesRead
from pingan.dispatch.triage import TriageInputError, TriageRules, rules_from_dict, rules_to_dict

Actor = Principal | str

MAX_VERSION_LEN: Final = 100
MAX_RUN_CARD_COUNT: Final = 50
"""More units of one kind than this on one call is a typing slip, not a run card."""
HISTORY_LIMIT: Final = 500


def _newest(db: Session) -> TriageRuleSet | None:
    return db.scalars(select(TriageRuleSet).order_by(TriageRuleSet.id.desc()).limit(1)).first()


def current(*, db: Session) -> TriageRulesRead:
    """The rule set in force: the newest saved version, else the shipped defaults (id null)."""
    row = _newest(db)
    if row is None:
        rules = service.shipped_rules()
        return TriageRulesRead(
            id=None,
            version=rules.version,
            document=rules_to_dict(rules),
            note="",
            created_at=None,
            created_by=None,
        )
    return TriageRulesRead(
        id=row.id,
        version=row.version,
        document=dict(row.document),
        note=row.note,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def validate_document(document: Any) -> TriageRules:
    """Parse and check a rule-set document; a 422 on ``document.<path>`` when it is bad."""
    try:
        rules = rules_from_dict(document)
    except TriageInputError as exc:
        path = exc.field or ""
        raise ValidationFailed(
            "dispatch.error.rules_invalid",
            field=f"document.{path}" if path and path != "rules" else "document",
            path=path,
            reason=exc.reason,
        ) from None
    if len(rules.version) > MAX_VERSION_LEN:
        raise ValidationFailed(
            "dispatch.error.rules_invalid",
            field="document.version",
            path="version",
            reason=f"must be at most {MAX_VERSION_LEN} characters",
        )
    known = service.RUN_CARD_KINDS
    for i, ct in enumerate(rules.call_types):
        for j, item in enumerate(ct.run_card.items):
            if item.kind not in known:
                # The desk would otherwise silently send a patrol car for a kind it lacks.
                raise ValidationFailed(
                    "dispatch.error.rules_invalid",
                    field=f"document.call_types[{i}].run_card[{j}].kind",
                    path=f"call_types[{i}].run_card[{j}].kind",
                    reason=f"unknown unit kind {item.kind!r} (known: {', '.join(known)})",
                )
            if item.count > MAX_RUN_CARD_COUNT:
                raise ValidationFailed(
                    "dispatch.error.rules_invalid",
                    field=f"document.call_types[{i}].run_card[{j}].count",
                    path=f"call_types[{i}].run_card[{j}].count",
                    reason=f"must be at most {MAX_RUN_CARD_COUNT}",
                )
    return rules


def _summary(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed between two normalised documents: call types added/removed/changed."""
    old = {ct["id"]: ct for ct in before.get("call_types", [])}
    new = {ct["id"]: ct for ct in after.get("call_types", [])}
    added = [k for k in new if k not in old]
    removed = [k for k in old if k not in new]
    changed = [k for k in new if k in old and new[k] != old[k]]
    fields = {
        k: sorted(f for f in set(new[k]) | set(old[k]) if new[k].get(f) != old[k].get(f))
        for k in changed
    }
    other = sorted(
        key
        for key in ("thresholds", "departments", "negations", "escalators")
        if before.get(key) != after.get(key)
    )
    return {
        "added": added,
        "removed": removed,
        "changed": changed,
        "changed_fields": fields,
        "other": other,
    }


def _append(
    db: Session,
    *,
    rules: TriageRules,
    note: str,
    actor: Actor,
    reverted_from: int | None = None,
) -> TriageRuleSet:
    document = rules_to_dict(rules)  # normalised: what is stored is what is parsed back
    in_force = current(db=db)
    if document == in_force.document:
        raise Conflict(
            "dispatch.error.rules_unchanged",
            field="id" if reverted_from is not None else "document",
            version=in_force.version,
        )
    row = TriageRuleSet(
        version=rules.version,
        document=document,
        note=note.strip(),
        created_at=clock.now(),
        created_by=actor_name(actor)[:100],
    )
    db.add(row)
    db.flush()
    summary = _summary(in_force.document, document)
    types = [*summary["added"], *summary["removed"], *summary["changed"]]
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="dispatch_triage_rule_set",
        entity_id=row.id,
        reason=row.note,
        detail={
            "version": row.version,
            "from_version": in_force.version,
            "from_id": in_force.id,
            "reverted_from": reverted_from,
            **summary,
        },
    )
    record(
        db,
        TriageRulesChanged(
            id=row.id,
            version=row.version,
            from_version=in_force.version,
            call_types=", ".join(types),
            changed=len(types),
            reverted_from=reverted_from,
        ),
    )
    return row


def save(*, db: Session, document: dict[str, Any], note: str, actor: Actor) -> TriageRuleSet:
    """Validate ``document`` and make it the rules in force (a new version).

    Nothing is written when it is invalid (422 on ``document.<path>``) or identical to
    the rules in force (409 on ``document``). Audited with a summary of the call types
    changed; records :class:`TriageRulesChanged`.
    """
    rules = validate_document(document)
    return _append(db, rules=rules, note=note, actor=actor)


def history(*, db: Session, limit: int = 100) -> list[TriageRuleSetSummary]:
    """The saved versions, newest first (the first is the one in force)."""
    rows = list(
        db.scalars(
            select(TriageRuleSet)
            .order_by(TriageRuleSet.id.desc())
            .limit(max(1, min(limit, HISTORY_LIMIT)))
        )
    )
    return [
        TriageRuleSetSummary(
            id=r.id,
            version=r.version,
            note=r.note,
            created_at=r.created_at,
            created_by=r.created_by,
            current=i == 0,
        )
        for i, r in enumerate(rows)
    ]


def revert(*, db: Session, rule_set_id: int | None, note: str, actor: Actor) -> TriageRuleSet:
    """Make an older version (None: the shipped defaults) the rules in force again.

    The version is appended as a new row, so the history stays append-only. An unknown
    id is a 404 on ``id``; the version already in force a 409 on ``id``. The old
    document is validated again (the rules may have tightened since).
    """
    if rule_set_id is None:
        rules = service.shipped_rules()
        text = note.strip() or f"revert to the shipped defaults ({rules.version})"
        return _append(db, rules=rules, note=text, actor=actor, reverted_from=0)
    old = db.get(TriageRuleSet, rule_set_id)
    if old is None:
        raise NotFound("dispatch.error.rules_not_found", field="id", id=rule_set_id)
    rules = validate_document(old.document)
    text = note.strip() or f"revert to #{old.id} ({old.version})"
    return _append(db, rules=rules, note=text, actor=actor, reverted_from=old.id)


def rule_set_read(row: TriageRuleSet) -> TriageRulesRead:
    """A saved version as the API shows it (with its document)."""
    return TriageRulesRead(
        id=row.id,
        version=row.version,
        document=dict(row.document),
        note=row.note,
        created_at=row.created_at,
        created_by=row.created_by,
    )
