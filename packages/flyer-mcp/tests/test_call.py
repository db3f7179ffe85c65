import pytest

from flyer_mcp._call import ArgumentError, build_request
from flyer_mcp._tools import ApiTool, Argument


def _tool(*arguments: Argument, body_type: str = "application/json") -> ApiTool:
    return ApiTool(
        name="t",
        operation_id="t",
        method="POST",
        path="/flyer/things/{thing_id}",
        tags=(),
        description="",
        input_schema={"type": "object"},
        arguments=arguments,
        body_type=body_type,
    )


def test_arguments_go_to_path_query_headers_cookies_and_body() -> None:
    tool = _tool(
        Argument("thing_id", "thing_id", "path"),
        Argument("ids", "ids", "query"),
        Argument("flag", "flag", "query"),
        Argument("x-lang", "x-lang", "header"),
        Argument("session", "session", "cookie"),
        Argument("name", "name", "field"),
    )
    path, query, headers, content = build_request(
        tool,
        {
            "thing_id": "a/b c",
            "ids": [1, 2],
            "flag": True,
            "x-lang": "zh",
            "session": "s 1",
            "name": "pen",
        },
    )
    assert path == "/flyer/things/a%2Fb%20c"
    assert query == [("ids", "1"), ("ids", "2"), ("flag", "true")]
    assert headers == {"x-lang": "zh", "cookie": "session=s%201"}
    assert content == {"json": {"name": "pen"}}


def test_a_whole_body_and_a_form_body() -> None:
    whole = _tool(Argument("thing_id", "thing_id", "path"), Argument("body", "body", "body"))
    assert build_request(whole, {"thing_id": 1, "body": [1, 2]})[3] == {"json": [1, 2]}
    form = _tool(
        Argument("thing_id", "thing_id", "path"),
        Argument("name", "name", "field"),
        body_type="application/x-www-form-urlencoded",
    )
    assert build_request(form, {"thing_id": 1, "name": "x"})[3] == {"data": {"name": "x"}}


def test_absent_and_null_optional_arguments_are_left_out() -> None:
    tool = _tool(Argument("thing_id", "thing_id", "path"), Argument("q", "q", "query"))
    assert build_request(tool, {"thing_id": 1, "q": None}) == ("/flyer/things/1", [], {}, {})


def test_a_missing_path_parameter_is_an_argument_error() -> None:
    with pytest.raises(ArgumentError, match="missing argument 'thing_id'"):
        build_request(_tool(Argument("thing_id", "thing_id", "path")), {})
