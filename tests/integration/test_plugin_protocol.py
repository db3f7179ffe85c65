"""Every plugin flyer ships satisfies `flyer_core.FlyerPlugin`, and every package exports its
plugin class from its public surface."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from typing import Any, List

import pytest

from flyer_core import FlyerPlugin

SHIPPED = {"cache", "db", "http", "mcp", "mq", "sched", "telemetry"}


def _entry_points() -> List[Any]:
    if sys.version_info >= (3, 10):
        return list(importlib.metadata.entry_points(group="flyer.plugins"))
    return list(importlib.metadata.entry_points().get("flyer.plugins", []))


def test_every_shipped_plugin_is_installed() -> None:
    assert {ep.name for ep in _entry_points()} >= SHIPPED


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_plugin_satisfies_the_protocol_and_is_exported(name: str) -> None:
    (entry,) = [ep for ep in _entry_points() if ep.name == name]
    cls = entry.load()
    plugin = cls()
    assert isinstance(plugin, FlyerPlugin)
    assert plugin.name == name
    package = importlib.import_module(cls.__module__.split(".")[0])
    assert getattr(package, cls.__name__) is cls
    assert cls.__name__ in package.__all__


def test_an_object_missing_a_hook_does_not_satisfy_it() -> None:
    class Partial:
        name = "partial"
        order = 1

        def setup(self, app: Any, settings: Any) -> None: ...

    assert not isinstance(Partial(), FlyerPlugin)
