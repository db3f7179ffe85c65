"""`publish(message, destination)`: from async code, on the broker of the running app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:
    from flyer_mq._service import Service

# The services of the apps running in this process, the most recently started last.
_running: List[Service] = []


def register(service: Service) -> None:
    _running.append(service)


def unregister(service: Service) -> None:
    if service in _running:
        _running.remove(service)


def current() -> Service:
    """The running app's broker service; `RuntimeError` when none is connected."""
    if not _running:
        raise RuntimeError(
            "flyer_mq.publish: no broker is connected (set flyer_mq_url and run the app, "
            "or use flyer_mq.Producer outside an app)"
        )
    return _running[-1]


async def publish(
    message: Any,
    destination: str,
    *,
    headers: Optional[Dict[str, str]] = None,
    correlation_id: Optional[str] = None,
    **options: Any,
) -> Any:
    """Publish `message` to `destination` (topic, queue, subject, stream or MQTT topic) on the
    running app's broker and wait for the broker's confirmation.

    Dicts, lists, pydantic models and strings are sent as JSON or text, bytes as they are.
    The current request id (and W3C `traceparent` when tracing is on) travels in the headers;
    `options` pass through to FastStream's `broker.publish(...)`.
    """
    return await current().publish(
        message, destination, headers=headers, correlation_id=correlation_id, **options
    )
