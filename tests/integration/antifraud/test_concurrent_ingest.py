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
