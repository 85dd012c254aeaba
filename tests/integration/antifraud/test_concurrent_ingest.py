"""Concurrent signal batches about the same people lose nothing (SQLite and PostgreSQL).

Partners send in parallel; two batches may carry reports about the same person, even one
the platform has never seen. Each batch is its own transaction; none may fail on the
person's unique key, and none may overwrite the other's accumulated signals.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from pingan.antifraud import service
from pingan.antifraud.models import PotentialVictim, Signal
from pingan.core.auth import service as auth
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import JurisdictionCreate
from pingan.core.db import Database

SYSTEM = Principal.system("test")
PHONES = [f"1390000{i:04d}" for i in range(20)]
THREADS = 4
ROUNDS = 5


def test_parallel_batches_about_the_same_people_keep_every_signal(database: Database) -> None:
    with database.session() as s:
        place = auth.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(code="af-town", name="测试市", kind="city"),
            actor=SYSTEM,
        )
        place_id = place.id
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def partner(t: int) -> None:
        start.wait()
        for r in range(ROUNDS):
            batch: list[dict[str, Any]] = [
                {"id": f"t{t}-r{r}-{i}", "kind": "call", "phone": phone, "caller_flag": "fraud"}
                for i, phone in enumerate(PHONES)
            ]
            try:
                with database.session() as s:
                    service.ingest_signals(
                        db=s,
                        partner="cmcc",
                        items=batch,
                        secret="s" * 32,
                        actor=SYSTEM,
                        default_jurisdiction_id=place_id,
                    )
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=partner, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Signal)) == THREADS * ROUNDS * len(PHONES)
        people = list(s.scalars(select(PotentialVictim)))
        assert len(people) == len(PHONES)
        for person in people:
            assert person.signals["calls_from_flagged_numbers"] == THREADS * ROUNDS
            assert person.jurisdiction_id == place_id


SAME_ID_THREADS = 4
SAME_ID_ROUNDS = 6


def _race_same_ids(database: Database, *, phone_per_thread: bool) -> list[list[Any]]:
    """``SAME_ID_THREADS`` partners' sessions send batches carrying the same (partner, id)
    at the same moment, ``SAME_ID_ROUNDS`` times; every thread's results per round."""
    with database.session() as s:
        place = auth.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(code="af-town", name="测试市", kind="city"),
            actor=SYSTEM,
        )
        place_id = place.id
    errors: list[BaseException] = []
    results: list[list[Any]] = [[] for _ in range(SAME_ID_ROUNDS)]
    start = threading.Barrier(SAME_ID_THREADS)

    def partner(t: int) -> None:
        for r in range(SAME_ID_ROUNDS):
            batch: list[dict[str, Any]] = [
                {
                    "id": f"r{r}-{i}",
                    "kind": "call",
                    "phone": f"1370{t if phone_per_thread else 0}00{i:04d}",
                    "caller_flag": "fraud",
                }
                for i in range(5)
            ]
            start.wait()
            try:
                with database.session() as s:
                    answer = service.ingest_signals(
                        db=s,
                        partner="cmcc",
                        items=batch,
                        secret="s" * 32,
                        actor=SYSTEM,
                        default_jurisdiction_id=place_id,
                    )
                results[r].append(answer)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=partner, args=(t,)) for t in range(SAME_ID_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def _assert_idempotent(database: Database, results: list[list[Any]]) -> None:
    for answers in results:
        assert len(answers) == SAME_ID_THREADS
        # every id created exactly once across the threads, the others answer duplicate
        # with the first one's row, person and warning
        assert sum(a.created for a in answers) == 5
        assert sum(a.duplicates for a in answers) == 5 * (SAME_ID_THREADS - 1)
        for i in range(5):
            rows = [a.results[i] for a in answers]
            assert sorted(r.status for r in rows).count("created") == 1
            assert len({(r.signal_id, r.victim_id, r.warning_id) for r in rows}) == 1
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Signal)) == SAME_ID_ROUNDS * 5
        total = sum(
            p.signals.get("calls_from_flagged_numbers", 0)
            for p in s.scalars(select(PotentialVictim))
        )
        assert total == SAME_ID_ROUNDS * 5  # each report counted once


def test_concurrent_resends_of_the_same_report_are_duplicates_not_errors(
    database: Database,
) -> None:
    results = _race_same_ids(database, phone_per_thread=False)
    _assert_idempotent(database, results)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(PotentialVictim)) == 5


def test_same_id_about_different_people_at_once_keeps_only_the_first(
    database: Database,
) -> None:
    """A partner reusing one id for different numbers at the same moment: whichever commits
    first is the report; the others answer duplicate with its result (as when sent later)."""
    results = _race_same_ids(database, phone_per_thread=True)
    _assert_idempotent(database, results)
