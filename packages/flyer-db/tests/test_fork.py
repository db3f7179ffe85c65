"""A pool made before `os.fork()` works in the child and in the parent, sockets never shared."""

import json
import os
from typing import Any, Callable, Dict

import pytest
from sqlalchemy import text

from flyer_db import get_dataset_pool

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def run_in_child(fork: Callable[[], int], work: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    """`work()` in a forked child; its JSON result (or the error it raised) comes back."""
    read_end, write_end = os.pipe()
    pid = fork()
    if pid == 0:  # the child: report and leave without running any parent cleanup
        code = 0
        try:
            payload = {"result": work()}
        except BaseException as error:
            payload, code = {"error": repr(error)}, 1
        try:
            os.write(write_end, json.dumps(payload).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    payload = json.loads(b"".join(chunks) or b"{}")
    assert os.WIFEXITED(status), payload
    assert os.WEXITSTATUS(status) == 0, payload
    result: Dict[str, Any] = payload["result"]
    return result


def test_an_engine_made_before_fork_works_in_child_and_parent(
    server: Any, engines: Callable[..., Any], quiet_fork: Callable[[], int]
) -> None:
    engine = engines(server.url)
    with engine.connect() as connection:
        parent_id = connection.execute(text(server.id_sql)).scalar()
    assert engine.pool.checkedin() == 1  # the parent's connection waits in the pool

    def child() -> Dict[str, Any]:
        with engine.connect() as connection:
            return {"id": connection.execute(text(server.id_sql)).scalar()}

    child_id = run_in_child(quiet_fork, child)["id"]
    assert child_id != parent_id  # the child opened its own connection
    with engine.connect() as connection:  # the parent's connection is intact and reused
        assert connection.execute(text(server.id_sql)).scalar() == parent_id
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_a_dataset_pool_made_before_fork_works_in_child_and_parent(
    server: Any, table_name: str, quiet_fork: Callable[[], int]
) -> None:
    database = get_dataset_pool(url=server.url)
    table = database[table_name]
    try:
        table.insert({"n": 1})
        parent_id = next(iter(database.query(server.id_sql)))["id"]

        def child() -> Dict[str, Any]:
            table.insert({"n": 2})
            return {"id": next(iter(database.query(server.id_sql)))["id"], "count": table.count()}

        outcome = run_in_child(quiet_fork, child)
        assert outcome["count"] == 2
        assert outcome["id"] != parent_id
        assert next(iter(database.query(server.id_sql)))["id"] == parent_id
        table.insert({"n": 3})
        assert [row["n"] for row in table.find(order_by="n")] == [1, 2, 3]
    finally:
        table.drop()
        database.close()


def test_a_child_probes_again_instead_of_waiting_for_its_parents_probe(
    silent_port: int, engines: Callable[..., Any], quiet_fork: Callable[[], int]
) -> None:
    import threading

    from flyer_db import check_engine

    engine = engines(
        f"mysql://root@127.0.0.1:{silent_port}/test", connect_args={"connect_timeout": 3}
    )
    assert check_engine(engine, timeout=0.2)["ok"] is False  # the parent's probe hangs on

    def child() -> Dict[str, Any]:
        result = check_engine(engine, timeout=0.2)
        probes = [t for t in threading.enumerate() if t.name == "flyer-db-check"]
        return {"ok": result["ok"], "probes": len(probes)}

    assert run_in_child(quiet_fork, child) == {"ok": False, "probes": 1}
