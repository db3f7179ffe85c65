"""Kafka, RabbitMQ, NATS, Redis Streams and MQTT for flyer apps, on FastStream.

```python
from flyer_mq import MQRouter, publish

mq = MQRouter()             # exported by an app package, beside `router`

@mq.subscriber("orders")
async def on_order(order: dict) -> None: ...

await publish({"id": 1}, "orders")          # from a route, a job, any async code
```

`flyer_mq_url` picks the broker (`kafka://`, `amqp://`, `nats://`, `redis://`, `mqtt://`);
with it unset the plugin stays off. FastFlyer's blocking `Producer(servers_list, topic,
retries=3).send(msg, topic=None, timeout=10) -> bool` works from any thread. FastStream 0.7
needs Python 3.10+: on 3.8 and 3.9 flyer-mq installs, its plugin logs one line and stays off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flyer_mq.__about__ import __version__
from flyer_status import lazy

if TYPE_CHECKING:
    from flyer_mq._plugin import MQPlugin
    from flyer_mq._producer import Producer
    from flyer_mq._publish import publish
    from flyer_mq._router import MQRouter, Subscription
    from flyer_mq._settings import BrokerURL, MQSettings, parse_url, settings_fields
    from flyer_mq._support import SUPPORTED

# Every public name is imported when first read (PEP 562): the `flyer.plugins` entry point
# loads `flyer_mq._plugin` and what that needs, not every module of the package.
_LAZY = {
    "MQPlugin": "flyer_mq._plugin",
    "Producer": "flyer_mq._producer",
    "publish": "flyer_mq._publish",
    "MQRouter": "flyer_mq._router",
    "Subscription": "flyer_mq._router",
    "BrokerURL": "flyer_mq._settings",
    "MQSettings": "flyer_mq._settings",
    "parse_url": "flyer_mq._settings",
    "settings_fields": "flyer_mq._settings",
    "SUPPORTED": "flyer_mq._support",
}

__all__ = [
    "SUPPORTED",
    "BrokerURL",
    "MQPlugin",
    "MQRouter",
    "MQSettings",
    "Producer",
    "Subscription",
    "__version__",
    "parse_url",
    "publish",
    "settings_fields",
]


__getattr__, __dir__ = lazy.exports(__name__, _LAZY)
