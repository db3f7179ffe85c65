"""URL and header redaction for logs and error messages."""

from __future__ import annotations

import httpx

from flyer_http import SENSITIVE_HEADERS, SENSITIVE_PARAMS
from flyer_http._redact import redact_headers, redact_url


def test_credentials_and_fragment_are_dropped() -> None:
    url = httpx.URL("https://alice:s3cret@api.example.com:8443/v1/items#frag")
    assert redact_url(url, SENSITIVE_PARAMS) == "https://api.example.com:8443/v1/items"


def test_sensitive_params_are_masked_case_insensitively() -> None:
    url = httpx.URL("http://h/p?Token=a&q=x%20y&access_token=b&empty=&sig=c")
    masked = redact_url(url, SENSITIVE_PARAMS | {"sig"})
    assert masked == "http://h/p?Token=***&q=x+y&access_token=***&empty=&sig=***"


def test_query_without_sensitive_params_is_kept_as_sent() -> None:
    url = httpx.URL("http://h/p?q=x%20y&page=2")
    assert redact_url(url, SENSITIVE_PARAMS) == "http://h/p?q=x%20y&page=2"
    assert redact_url(url, SENSITIVE_PARAMS, query=False) == "http://h/p"


def test_ipv6_host() -> None:
    assert redact_url(httpx.URL("http://u:p@[::1]:8080/x"), frozenset()) == "http://[::1]:8080/x"


def test_headers_are_masked_and_joined() -> None:
    headers = httpx.Headers(
        [
            ("Authorization", "Bearer x"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Accept", "a"),
            ("Accept", "b"),
            ("X-Token", "t"),
        ]
    )
    shown = redact_headers(headers, SENSITIVE_HEADERS | {"x-token"})
    assert shown == {
        "authorization": "***",
        "set-cookie": "***, ***",
        "accept": "a, b",
        "x-token": "***",
    }
    assert {"authorization", "proxy-authorization", "cookie", "set-cookie"} <= SENSITIVE_HEADERS
