"""`flyer_redis_url` errors never show a password, whatever the mistake (issue 15, finding 3)."""

from __future__ import annotations

import pytest

from flyer_cache import CacheSettings, redact_url
from flyer_cache._urls import check_url

SECRET = "topsecret"


@pytest.mark.parametrize(
    "url",
    [
        f"redis:/:{SECRET}@127.0.0.1:1/0",  # one slash: no netloc, the password sits in the path
        SECRET,  # not a URL at all
        f"redis://:{SECRET}@host:notaport/0",
        f"redis://:{SECRET}@host:6379/notadb",
        f"redis://:{SECRET}@host:6379/0?socket_timeout=soon",
        f"unix://:{SECRET}@",
        f"redis+sentinel:/:{SECRET}@host/svc",
        f"redis+sentinel://:{SECRET}@host",
        f"http://:{SECRET}@host/",
    ],
)
def test_a_bad_redis_url_is_one_line_without_the_password(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        CacheSettings.from_env({"flyer_redis_url": url})
    message = str(caught.value)
    assert SECRET not in message
    assert message.startswith("flyer_redis_url=")
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6379/0",
        f"redis://:{SECRET}@localhost",
        f"rediss://user:{SECRET}@cache.example:6380/2?socket_timeout=1.5",
        "unix:///run/redis.sock?db=2",
        f"redis+sentinel://:{SECRET}@s1:26379,s2/mymaster/1",
    ],
)
def test_good_urls_pass(url: str) -> None:
    assert check_url("flyer_redis_url", url)
    assert SECRET not in repr(CacheSettings.from_env({"flyer_redis_url": url}))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (SECRET, "***"),
        (f"{SECRET}:{SECRET}", "***"),  # a scheme flyer does not take is not shown
        (f"rediss:{SECRET}", "rediss:***"),
        (f"redis:/:{SECRET}@h:1/0", "redis:***"),
        (f"redis://u:{SECRET}@h:1/0", "redis://u:***@h:1/0"),
        (f"redis://h/0?password={SECRET}", "redis://h/0?password=***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
