"""One port rule: every port variable of every package accepts and refuses the same values
with the same one-line error (issue 15, finding 5: the rule was written five times)."""

from __future__ import annotations

import sys
from typing import Callable, Dict, Union

import pytest

from flyer_cache import CacheSettings
from flyer_core import load_settings
from flyer_db import DBSettings
from flyer_sched import SchedSettings
from flyer_status import SettingsError
from flyer_status.settings import parse_port


def _sched_without_cache(environ: Dict[str, str]) -> int:
    saved = sys.modules.get("flyer_cache")
    sys.modules["flyer_cache"] = None  # type: ignore[assignment]  # `import flyer_cache` fails
    try:
        return SchedSettings.from_env(environ).redis_port
    finally:
        sys.modules["flyer_cache"] = saved  # type: ignore[assignment]


READERS: Dict[str, Callable[[Dict[str, str]], int]] = {
    "flyer_port (core)": lambda env: load_settings(None, env).port,
    "flyer_redis_port (cache)": lambda env: CacheSettings.from_env(env).port,
    "flyer_redis_port (sched)": lambda env: SchedSettings.from_env(env).redis_port,
    "flyer_redis_port (sched without cache)": _sched_without_cache,
    "flyer_db_port (db)": lambda env: DBSettings.from_env(env).port,
}
VALUES = ["1", "8080", "65535", " 8080 ", "\t80\n", "08080", "+80", "8_080", "0", "65536", "-1"]
VALUES += ["abc", "80.5", "1e3", "0x50", "8__080", "\u0663\u0663", "80 80"]


def _outcome(read: Callable[[], int]) -> Union[int, str]:
    try:
        return read()
    except ValueError as exc:  # core's SettingsError and the leaves' are ValueErrors
        return str(exc)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("reader", list(READERS))
def test_every_port_variable_follows_one_rule(reader: str, value: str) -> None:
    variable = reader.split()[0]
    expected = _outcome(lambda: parse_port(variable, value))
    assert _outcome(lambda: READERS[reader]({variable: value})) == expected
    if isinstance(expected, str):
        assert expected == f"{variable}={value!r}: expected an integer 1-65535"
        with pytest.raises(SettingsError):
            READERS[reader]({variable: value})
