"""`flyer_mq_*`: one URL picks the broker; bad values fail in one line, passwords hidden."""

from __future__ import annotations

import pytest

from flyer_mq import MQSettings, parse_url, settings_fields


@pytest.mark.parametrize(
    ("url", "kind", "servers"),
    [
        ("kafka://k1:9092,k2:9093", "kafka", ["k1:9092", "k2:9093"]),
        ("kafka://broker", "kafka", ["broker:9092"]),
        ("amqp://guest:guest@127.0.0.1:5672/", "rabbit", ["127.0.0.1:5672"]),
        ("amqps://rabbit.internal/vhost", "rabbit", ["rabbit.internal:5672"]),
        ("nats://n1:4222,n2", "nats", ["n1:4222", "n2:4222"]),
        ("redis://127.0.0.1:6379/2", "redis", ["127.0.0.1:6379"]),
        ("mqtt://127.0.0.1", "mqtt", ["127.0.0.1:1883"]),
    ],
)
def test_each_scheme_picks_its_broker(url: str, kind: str, servers: list) -> None:
    parsed = parse_url(url)
    assert parsed is not None
    assert parsed.kind == kind
    assert parsed.servers == servers


def test_unset_or_empty_means_no_broker() -> None:
    assert MQSettings.from_env({}).enabled is False
    assert MQSettings.from_env({"FLYER_MQ_URL": "  "}).url is None


def test_credentials_are_parsed_and_never_shown() -> None:
    settings = MQSettings.from_env({"FLYER_MQ_URL": "amqp://app:s3cr%40t@mq:5672/"})
    assert settings.url is not None
    assert (settings.url.username, settings.url.password) == ("app", "s3cr@t")
    assert settings.url.redacted == "amqp://app:***@mq:5672/"
    assert "s3cr" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("flyer_mq_url", "http://user:hunter2@host", "expected kafka://, amqp://"),
        ("flyer_mq_url", "amqp://user:hunter2@host:99999/", "port must be an integer 1-65535"),
        ("flyer_mq_url", "amqp://user:hunter2@a,b/", "amqp:// takes exactly one host"),
        ("flyer_mq_url", "redis://user:hunter2@host/x", "a database number"),
        ("flyer_mq_url", "kafka://user:hunter2@", "expected kafka://, amqp://"),
        ("flyer_mq_group", "a b", "expected 1-64 letters"),
        ("flyer_mq_retries", "0", "expected an integer 1-100"),
        ("flyer_mq_publish_timeout", "soon", "expected a number of seconds"),
        ("flyer_mq_dead_letter_suffix", "/", "expected 1-32 letters"),
        ("flyer_mq_idempotency_url", "amqp://u:hunter2@h/", "expected a redis:// URL"),
        ("flyer_mq_idempotency_ttl", "-1", "expected an integer 1-31536000"),
    ],
)
def test_a_bad_value_fails_in_one_line_naming_the_variable(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ValueError) as caught:
        MQSettings.from_env({variable.upper(): value})
    message = str(caught.value)
    assert message.startswith(f"{variable}=")
    assert expected in message
    assert "\n" not in message
    assert "hunter2" not in message


def test_settings_fields_list_every_variable_with_its_default() -> None:
    fields = {f["name"]: f for f in settings_fields()}
    assert set(fields) == {
        "flyer_mq_url",
        "flyer_mq_group",
        "flyer_mq_retries",
        "flyer_mq_dead_letter_suffix",
        "flyer_mq_publish_timeout",
        "flyer_mq_idempotency_url",
        "flyer_mq_idempotency_ttl",
    }
    assert fields["flyer_mq_url"]["secret"] is True
    assert fields["flyer_mq_group"]["default"] == "flyer"
    defaults = MQSettings()
    assert str(defaults.retries) == fields["flyer_mq_retries"]["default"]
