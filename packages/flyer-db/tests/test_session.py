"""ORM sessions: session_scope, the sessionmaker helper and the FastAPI dependency."""

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import Column, Integer, String, select, text
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from flyer_db import DBPlugin, get_session, session_dependency, session_factory, session_scope

Base = declarative_base()


class Item(Base):  # type: ignore[valid-type,misc]
    # A name of this run's own: another run may share the database.
    __tablename__ = f"flyer_items_{uuid.uuid4().hex[:8]}"
    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)


@pytest.fixture(params=["sqlite", "mysql", "postgres"])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, engines: Callable[..., Any]
) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'orm.db'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    engine = engines(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        Base.metadata.drop_all(engine)


def names(engine: Any) -> list:
    with engine.connect() as connection:
        return [
            row[0]
            for row in connection.execute(
                text(f"SELECT name FROM {Item.__tablename__} ORDER BY name")
            )
        ]


def test_session_scope_commits_at_the_end(engine: Any) -> None:
    with session_scope(engine) as session:
        session.add(Item(name="a"))
    assert names(engine) == ["a"]


def test_session_scope_rolls_back_on_an_exception(engine: Any) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:  # noqa: PT012
        session.add(Item(name="b"))
        session.flush()
        raise RuntimeError("no")
    assert names(engine) == []


def test_objects_stay_readable_after_the_session_closed(engine: Any) -> None:
    with session_scope(engine) as session:
        item = Item(name="c")
        session.add(item)
    assert item.name == "c"
    assert item.id is not None


def test_the_sessionmaker_helper_is_shared_per_engine(engine: Any) -> None:
    factory = session_factory(engine)
    assert isinstance(factory, sessionmaker)
    assert session_factory(engine) is factory
    assert session_factory(engine, expire_on_commit=True) is not factory
    with session_scope(factory) as session:
        session.add(Item(name="d"))
    assert names(engine) == ["d"]


def test_get_session_is_a_dependency_that_commits_or_rolls_back(tmp_path: Path) -> None:
    plugin = DBPlugin()
    url = f"sqlite:///{tmp_path / 'app.db'}"
    plugin.setup(None, SimpleNamespace(environ={"flyer_db_url": url}))
    dependency = get_session()
    session = next(dependency)
    assert isinstance(session, Session)
    Base.metadata.create_all(session.get_bind())
    session.add(Item(name="kept"))
    with pytest.raises(StopIteration):
        next(dependency)  # the route returned: commit
    failing = get_session()
    session = next(failing)
    session.add(Item(name="dropped"))
    with pytest.raises(ValueError, match="route failed"):
        failing.throw(ValueError("route failed"))  # the route raised: roll back
    with session_scope() as check:
        assert check.scalars(select(Item.name)).all() == ["kept"]
    check.get_bind().dispose()


async def test_the_dependency_in_a_real_fastapi_app(engine: Any) -> None:
    fastapi = pytest.importorskip("fastapi")
    import httpx

    app = fastapi.FastAPI()
    db_session = session_dependency(engine)

    @app.post("/items/{name}")
    def create(name: str, session: Session = fastapi.Depends(db_session)) -> dict:  # noqa: B008
        session.add(Item(name=name))
        if name == "bad":
            raise fastapi.HTTPException(status_code=409, detail="refused")
        return {"name": name}

    @app.get("/items")
    def listing(session: Session = fastapi.Depends(db_session)) -> list:  # noqa: B008
        return list(session.scalars(select(Item.name).order_by(Item.name)))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        assert (await client.post("/items/x")).json() == {"name": "x"}
        assert (await client.post("/items/bad")).status_code == 409
        assert (await client.get("/items")).json() == ["x"]
    assert names(engine) == ["x"]
