"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable), settings, apps."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# pytest-xdist's workers inherit COLUMNS=80 and LINES=24; the CLIs' rich consoles, created at
# import, would fix their width from them and wrap or crop what the CLI tests read (a test
# passes its own COLUMNS to the invocation when it needs a width).
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

POSTGRES_ADMIN_URL = os.environ.get(
    "PINGAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _postgres_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    dsn = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return None
    except Exception as exc:
        return f"PostgreSQL unreachable at {dsn}: {type(exc).__name__}"


_PG_REASON = _postgres_reason()


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    """Whether the local PostgreSQL answers."""
    return _PG_REASON is None


def make_postgres_database() -> str:
    """Create an empty, uniquely named PostgreSQL database and return its URL."""
    import psycopg

    name = f"pingan_t_{uuid.uuid4().hex[:12]}"
    dsn = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop a database made by :func:`make_postgres_database`."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    dsn = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Templates:
    """Databases holding every table and no rows, made once per test process: a test whose
    fixtures create every table anyway (the ``database`` fixture) starts from a copy — a
    file copy for SQLite, ``CREATE DATABASE … TEMPLATE`` for PostgreSQL — instead of
    issuing the whole schema's DDL again (~1 s a test on PostgreSQL). Tests of the schema
    itself (migrations) and any test without the ``database`` fixture get an empty one."""

    def __init__(self) -> None:
        self.sqlite: Path | None = None
        self.postgres: str | None = None

    @staticmethod
    def _create_all(url: str) -> None:
        from pingan.assembly import load_modules
        from pingan.core.db import Base, Database

        load_modules()
        db = Database(url, pooled=False)
        try:
            Base.metadata.create_all(db.engine)
        finally:
            db.dispose()

    def sqlite_copy(self, target: Path, scratch: Path) -> None:
        if self.sqlite is None:
            template = scratch / "pingan-template.db"
            self._create_all(f"sqlite:///{template}")  # closed: the WAL is checkpointed
            self.sqlite = template
        shutil.copyfile(self.sqlite, target)

    def postgres_copy(self) -> str:
        import psycopg

        if self.postgres is None:
            url = make_postgres_database()
            self._create_all(url)
            self.postgres = url
        name = f"pingan_t_{uuid.uuid4().hex[:12]}"
        template = self.postgres.rsplit("/", 1)[1]
        dsn = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop(self) -> None:
        if self.postgres is not None:
            drop_postgres_database(self.postgres)
            self.postgres = None


@pytest.fixture(scope="session")
def _templates() -> Iterator[_Templates]:
    templates = _Templates()
    try:
        yield templates
    finally:
        templates.drop()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    _templates: _Templates,
) -> Iterator[str]:
    """A database URL: a SQLite file, and (second run) a fresh PostgreSQL database. Empty,
    unless the test also uses the ``database`` fixture (which creates every table): then
    a copy of a database with every table (see :class:`_Templates`)."""
    with_tables = "database" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "pingan.db"
        if with_tables:
            _templates.sqlite_copy(path, tmp_path_factory.getbasetemp())
        yield f"sqlite:///{path}"
        return
    if _PG_REASON is not None:
        pytest.skip(_PG_REASON)
    url = _templates.postgres_copy() if with_tables else make_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def database(database_url: str) -> Iterator[object]:
    """A :class:`pingan.core.db.Database` with every table of every module created."""
    from pingan.assembly import load_modules
    from pingan.core.db import Base, Database

    load_modules()  # imports every module's models into the one metadata
    db = Database(database_url)
    Base.metadata.create_all(db.engine)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> object:
    """Settings for an isolated platform: its own data dir and database, simulator off."""
    from pingan.core.settings import Settings

    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        sim={"enabled": False},  # type: ignore[arg-type]
    )


@pytest.fixture
def fast_hasher() -> Iterator[None]:
    """Argon2id with small costs, for tests about flows rather than the hash's strength."""
    from argon2 import PasswordHasher, Type

    from pingan.core.auth import passwords

    previous = passwords.configure_hasher(
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
    )
    try:
        yield
    finally:
        passwords.configure_hasher(previous)


@pytest.fixture(autouse=True, scope="session")
def _parse_each_extract_once() -> Iterator[None]:
    """Most integration tests import the demo city into their own database; parsing its
    OSM extract is ~1.7 s of each import (pyosmium over 30,000 objects) and always gives
    the same result. The city import's parse is therefore done once per test process and
    file version (path, size, mtime): later imports get the same roads, POIs and
    boundaries (frozen records, in fresh lists) and the same progress steps. The import
    itself (graph, districts, rows, files) runs in full every time, and the parser's own
    tests call :func:`pingan.city.osm.read_osm` directly."""
    import dataclasses

    from pingan.city import osm, service

    original = service.read_osm
    parsed: dict[tuple[str, int, int, float], tuple[osm.OsmExtract, list[str]]] = {}

    def read_once(
        path: str | Path,
        *,
        fallback_speed_kmh: float = 30.0,
        progress: Callable[[str], None] | None = None,
    ) -> osm.OsmExtract:
        try:
            stat = Path(path).stat()
        except OSError:
            return original(path, fallback_speed_kmh=fallback_speed_kmh, progress=progress)
        key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, fallback_speed_kmh)
        if key not in parsed:
            steps: list[str] = []

            def note(step: str) -> None:
                steps.append(step)
                if progress is not None:
                    progress(step)

            parsed[key] = (
                original(path, fallback_speed_kmh=fallback_speed_kmh, progress=note),
                steps,
            )
        elif progress is not None:
            for step in parsed[key][1]:
                progress(step)
        extract = parsed[key][0]
        return dataclasses.replace(
            extract,
            roads=list(extract.roads),
            pois=list(extract.pois),
            boundaries=list(extract.boundaries),
        )

    service.read_osm = read_once  # type: ignore[assignment]
    try:
        yield
    finally:
        service.read_osm = original  # type: ignore[assignment]
