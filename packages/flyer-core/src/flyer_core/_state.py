"""`app.state` of a flyer app: Starlette's `State`, which can also hold values built on first use."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional

from starlette.datastructures import State


class FlyerState(State):
    """`app.state`, plus `flyer_lazy(name, factory)`: `name` is built by `factory()` when it
    is first read (`state.name` or `state["name"]`), once even when threads race for it.

    A plugin puts what is costly to build and often unused there (flyer-http's shared client:
    importing httpx and loading the CA bundle), so an app starts without paying for it.
    Setting or deleting `name` drops its factory. Only the attribute interface every Starlette
    release has is relied on; where `State` can be iterated, a value is listed once built.
    """

    def __init__(self, state: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(state)
        object.__setattr__(self, "_flyer_factories", {})
        object.__setattr__(self, "_flyer_lock", threading.RLock())

    def flyer_lazy(self, name: str, factory: Callable[[], Any]) -> None:
        """Build `name` with `factory()` when it is first read (replacing any value it has)."""
        with self._flyer_lock:
            try:
                super().__delattr__(name)
            except (KeyError, AttributeError):
                pass
            self._flyer_factories[name] = factory

    def flyer_pending(self, name: str) -> bool:
        """Whether `name` has a factory not called yet."""
        return name in self._flyer_factories

    def _flyer_build(self, name: str) -> Any:
        with self._flyer_lock:
            factory = self._flyer_factories.get(name)
            if factory is None:  # another thread built it meanwhile
                return super().__getattr__(name)
            value = factory()
            super().__setattr__(name, value)
            del self._flyer_factories[name]
            return value

    def __getattr__(self, key: Any) -> Any:
        if key in self.__dict__.get("_flyer_factories", ()):
            return self._flyer_build(key)
        return super().__getattr__(key)

    def __getitem__(self, key: str) -> Any:
        # Through the attribute interface: older Starlette releases have no item access.
        if key in self._flyer_factories:
            return self._flyer_build(key)
        try:
            return super().__getattr__(key)
        except AttributeError:
            raise KeyError(key) from None

    def __setattr__(self, key: Any, value: Any) -> None:
        with self._flyer_lock:
            self._flyer_factories.pop(key, None)
            super().__setattr__(key, value)

    def __setitem__(self, key: str, value: Any) -> None:
        self.__setattr__(key, value)

    def __delattr__(self, key: Any) -> None:
        with self._flyer_lock:
            if self._flyer_factories.pop(key, None) is None:
                super().__delattr__(key)
                return
            try:
                super().__delattr__(key)
            except (KeyError, AttributeError):
                pass

    def __delitem__(self, key: str) -> None:
        self.__delattr__(key)
