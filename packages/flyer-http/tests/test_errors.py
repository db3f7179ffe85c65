"""httpx failures become flyer-status 60x errors that are still the httpx exceptions."""

from __future__ import annotations

import pickle
from typing import Any, Type

import httpx
import pytest
import respx

from flyer_http import Client, raise_for_status
from flyer_status import (
    FlyerError,
    ThirdPartyDataError,
    ThirdPartyError,
    ThirdPartyNetworkError,
    ThirdPartyRetryError,
    ThirdPartyStatusError,
    ThirdPartyTimeoutError,
    ThirdPartyUnavailableError,
)

# Failures a loopback server cannot produce on demand, raised by a mocked transport.
MOCKED = [
    (httpx.ConnectTimeout, ThirdPartyTimeoutError, 604),
    (httpx.WriteTimeout, ThirdPartyTimeoutError, 604),
    (httpx.PoolTimeout, ThirdPartyTimeoutError, 604),
    (httpx.WriteError, ThirdPartyNetworkError, 605),
    (httpx.CloseError, ThirdPartyNetworkError, 605),
    (httpx.ProxyError, ThirdPartyNetworkError, 605),
    (httpx.LocalProtocolError, ThirdPartyNetworkError, 605),
    (httpx.UnsupportedProtocol, ThirdPartyError, 600),
]


@pytest.mark.parametrize(("httpx_cls", "flyer_cls", "code"), MOCKED)
def test_each_failure_maps_to_its_code(
    make_client: Any, httpx_cls: Type[Exception], flyer_cls: Type[FlyerError], code: int
) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.get("http://upstream.test/x").mock(side_effect=httpx_cls)
        with pytest.raises(httpx_cls) as caught:
            make_client(retry=False).get("http://upstream.test/x")
    err = caught.value
    assert isinstance(err, flyer_cls)
    assert isinstance(err, FlyerError)
    assert err.code == code
    assert type(err.__cause__) is httpx_cls
    assert err.request.url == "http://upstream.test/x"
    assert err.to_dict(request_id="r1")["code"] == code


def test_retryable_mocked_failures_are_retried(make_client: Any, fast: Any) -> None:
    with respx.mock() as mock:
        route = mock.get("http://upstream.test/x")
        route.side_effect = [httpx.ConnectTimeout, httpx.PoolTimeout, httpx.Response(200)]
        assert make_client(retry=fast).get("http://upstream.test/x").status_code == 200
    assert route.call_count == 3


def test_undecodable_body_is_602(upstream: Any, make_client: Any) -> None:
    url = upstream.script("/gz", (200, {"Content-Encoding": "gzip"}, b"this is not gzip"))
    with pytest.raises(httpx.DecodingError) as caught:
        make_client().get(url)
    assert isinstance(caught.value, ThirdPartyDataError)
    assert caught.value.code == 602
    assert len(upstream.hits("/gz")) == 1  # not a retryable failure


def test_redirect_loop_is_600(upstream: Any, make_client: Any) -> None:
    url = upstream.script("/loop", *[(302, {"Location": "/loop"})] * 5)
    with pytest.raises(httpx.TooManyRedirects) as caught:
        make_client(follow_redirects=True, max_redirects=2).get(url)
    assert type(caught.value).__mro__[1] is ThirdPartyError
    assert caught.value.code == 600


def test_errors_from_hooks_pass_through(upstream: Any, make_client: Any, fast: Any) -> None:
    def hook(request: httpx.Request) -> None:
        raise LookupError("from a hook")

    async def async_hook(request: httpx.Request) -> None:
        raise LookupError("from a hook")

    chosen: Any = hook if make_client.kind == "sync" else async_hook
    requests = make_client(retry=fast, event_hooks={"request": [chosen]})
    with pytest.raises(LookupError, match="from a hook") as caught:
        requests.get(upstream.url + "/x")
    assert type(caught.value) is LookupError
    assert upstream.received == []


def test_errors_pickle(upstream: Any, make_client: Any, fast: Any) -> None:
    url = upstream.script("/cut", "cut", "cut", "cut")
    with pytest.raises(ThirdPartyRetryError) as caught:
        make_client(retry=fast).get(url)
    err = caught.value
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert isinstance(copy, httpx.RemoteProtocolError)
    assert (copy.code, copy.message, copy.detail, copy.http_status) == (
        err.code,
        err.message,
        err.detail,
        err.http_status,
    )
    assert copy.attempts == 3
    assert copy.request.url == url


def test_error_message_names_the_call_without_secrets(upstream: Any, make_client: Any) -> None:
    url = upstream.script("/cut", "cut").replace("http://", "http://user:pw-secret@")
    with pytest.raises(ThirdPartyNetworkError) as caught:
        make_client(retry=False).get(url, params={"token": "tok-secret"})
    text = f"{caught.value} {caught.value.message} {caught.value.detail}"
    assert f"GET http://127.0.0.1:{upstream.port}/cut failed" in text
    assert "secret" not in text


def test_raise_for_status_maps_4xx_and_5xx_to_601(upstream: Any, make_client: Any) -> None:
    requests = make_client(retry=False)
    for status in [400, 404, 500, 503]:
        url = upstream.script("/s", status)
        response = requests.get(url + "?token=tok-secret")
        with pytest.raises(httpx.HTTPStatusError) as caught:
            raise_for_status(response)
        err = caught.value
        assert isinstance(err, ThirdPartyStatusError)
        assert not isinstance(err, ThirdPartyRetryError)
        assert err.code == 601
        assert err.response is response
        assert err.request is response.request
        assert str(status) in err.message
        assert "tok-secret" not in str(err)
        copy = pickle.loads(pickle.dumps(err))
        assert copy.response.status_code == status


def test_raise_for_status_passes_other_responses(upstream: Any, make_client: Any) -> None:
    requests = make_client()
    ok = requests.get(upstream.url + "/ok")
    assert raise_for_status(ok) is ok
    moved = requests.get(upstream.script("/m", (301, {"Location": "/ok"})))
    assert raise_for_status(moved) is moved
    assert raise_for_status(httpx.Response(204)).status_code == 204
    with pytest.raises(ThirdPartyStatusError, match="418"):
        raise_for_status(httpx.Response(418))  # a response built by hand has no request


def test_error_classes_are_shared_between_calls(make_client: Any, closed_port: int) -> None:
    requests = make_client(retry=False)
    kinds = set()
    for _ in range(2):
        with pytest.raises(ThirdPartyUnavailableError) as caught:
            requests.get(f"http://127.0.0.1:{closed_port}/")
        kinds.add(type(caught.value))
    assert len(kinds) == 1


def test_client_closes_like_httpx(upstream: Any) -> None:
    client = Client()
    client.close()
    with pytest.raises(RuntimeError):
        client.get(upstream.url)
