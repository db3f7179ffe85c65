"""`MQRouter`: subscribers and publishers declared once, whatever the broker."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Tuple, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Subscription:
    """One handler of one destination: `options` go to FastStream's `subscriber(...)`."""

    destination: str
    handler: Callable[..., Any]
    options: Dict[str, Any]
    idempotent: bool = False


class MQRouter:
    """Subscribers and publishers of one app package, for whichever broker `flyer_mq_url` names.

    ```python
    mq = MQRouter()

    @mq.subscriber("orders")
    @mq.publisher("orders.done")      # the return value is published there
    async def handle(order: Order, logger: Logger) -> dict: ...
    ```

    A sub-package of the app package exports it as `mq`; flyer-mq mounts it on the broker at
    start-up. Handlers are FastStream handlers (typed bodies, `Context`, `Depends`, `Logger`).
    `options` pass through to the broker's FastStream `subscriber(...)` / `publisher(...)`
    and override flyer's defaults (the shared group, durable queues, acknowledgement after
    the handler).
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._subscriptions: List[Subscription] = []
        self._publishes: Dict[Callable[..., Any], List[Tuple[str, Dict[str, Any]]]] = {}

    def subscriber(
        self, destination: str, *, idempotent: bool = False, **options: Any
    ) -> Callable[[F], F]:
        """Decorator: `handler` consumes `prefix + destination`.

        `idempotent=True`: a message whose id was handled already (within
        `flyer_mq_idempotency_ttl`) is acknowledged without calling the handler again; ids
        are remembered in Redis (`flyer_mq_idempotency_url`) once the handler returned.
        """
        if not isinstance(destination, str) or not destination:
            raise ValueError("MQRouter.subscriber: the destination must be a non-empty string")

        def decorator(handler: F) -> F:
            self._subscriptions.append(
                Subscription(self.prefix + destination, handler, dict(options), idempotent)
            )
            return handler

        return decorator

    def publisher(self, destination: str, **options: Any) -> Callable[[F], F]:
        """Decorator for a subscriber's handler: its return value is published to
        `prefix + destination` (in the same request-id context)."""
        if not isinstance(destination, str) or not destination:
            raise ValueError("MQRouter.publisher: the destination must be a non-empty string")

        def decorator(handler: F) -> F:
            self._publishes.setdefault(handler, []).append((self.prefix + destination, options))
            return handler

        return decorator

    def include_router(self, other: MQRouter) -> None:
        """Take over `other`'s subscriptions (with this router's prefix in front)."""
        for sub in other.subscriptions:
            self._subscriptions.append(
                Subscription(
                    self.prefix + sub.destination, sub.handler, dict(sub.options), sub.idempotent
                )
            )
        for handler, publishes in other._publishes.items():
            self._publishes.setdefault(handler, []).extend(
                (self.prefix + dest, options) for dest, options in publishes
            )

    @property
    def subscriptions(self) -> List[Subscription]:
        return list(self._subscriptions)

    def publishes(self, handler: Callable[..., Any]) -> List[Tuple[str, Dict[str, Any]]]:
        """Where `handler`'s return value is published."""
        return list(self._publishes.get(handler, ()))

    def __repr__(self) -> str:
        names = [s.destination for s in self._subscriptions]
        return f"MQRouter(prefix={self.prefix!r}, subscriptions={names!r})"
