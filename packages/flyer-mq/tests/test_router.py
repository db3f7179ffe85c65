"""`MQRouter`: declarations recorded, whatever the broker."""

from __future__ import annotations

import sys

import pytest

from flyer_mq import MQRouter


def test_subscribers_and_publishers_are_recorded_with_their_options() -> None:
    mq = MQRouter(prefix="shop.")

    @mq.subscriber("orders", max_workers=2)
    @mq.publisher("orders.done")
    async def handle(order: dict) -> dict:
        return order

    (sub,) = mq.subscriptions
    assert (sub.destination, sub.handler, sub.options) == (
        "shop.orders",
        handle,
        {"max_workers": 2},
    )
    assert mq.publishes(handle) == [("shop.orders.done", {})]


def test_include_router_prefixes_the_other_routers_destinations() -> None:
    inner = MQRouter()

    @inner.subscriber("a")
    async def a(body: dict) -> None: ...

    outer = MQRouter(prefix="x.")
    outer.include_router(inner)
    assert [s.destination for s in outer.subscriptions] == ["x.a"]
    assert "x.a" in repr(outer)


def test_an_empty_destination_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        MQRouter().subscriber("")


@pytest.mark.skipif(sys.version_info < (3, 10), reason="FastStream 0.7 needs Python 3.10+")
def test_each_kafka_topic_gets_a_consumer_group_of_its_own() -> None:
    from flyer_mq._brokers import subscriber_options
    from flyer_mq._settings import MQSettings

    settings = MQSettings(group="shop")
    assert subscriber_options("kafka", "orders", settings, {})["group_id"] == "shop.orders"
    assert subscriber_options("kafka", "refunds", settings, {})["group_id"] == "shop.refunds"
    # The caller's own group wins.
    assert subscriber_options("kafka", "orders", settings, {"group_id": "g"})["group_id"] == "g"
