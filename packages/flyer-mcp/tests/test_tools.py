"""Tools read from a flyer app's OpenAPI document: names, descriptions, schemas, filters."""

from __future__ import annotations

import sys
from typing import Any, Dict, List

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from flyer_core import create_app
from flyer_mcp import McpPlugin, ToolFilter
from flyer_mcp._tools import build_tools, hidden_path

needs_mcp = pytest.mark.skipif(
    sys.version_info < (3, 10), reason="MCP needs Python 3.10+: the MCP SDK does not install here"
)


class ManagementPlugin:
    """Mounts routes like flyer-sched's `{base}/tasks` and another under a plain path."""

    name = "management"

    def setup(self, app: FastAPI, settings: Any) -> None:
        tasks = APIRouter(prefix=f"{settings.base_url}/tasks", tags=["tasks"])

        @tasks.get("", operation_id="list_jobs")
        async def list_jobs() -> Dict[str, Any]:
            return {}

        @tasks.post("/{job_id}/pause", operation_id="pause_job")
        async def pause_job(job_id: str) -> Dict[str, Any]:
            return {}

        app.include_router(tasks)

        async def stats() -> Dict[str, Any]:
            return {}

        app.add_api_route(f"{settings.base_url}/admin/stats", stats, operation_id="admin_stats")


class Address(BaseModel):
    city: str


class Person(BaseModel):
    name: str
    address: Address
    friends: List[Person] = []


def _app(apps: str, *plugins: Any) -> FastAPI:
    """The demo apps plus a people router, with `plugins` only; settings from the environment."""
    app = create_app(apps=apps, env_file=None, plugins=list(plugins))
    people = APIRouter(prefix="/flyer/people", tags=["People"])

    @people.put("/{person_id}", operation_id="put_person")
    async def put_person(person_id: int, body: Person, dry_run: bool = False) -> Dict[str, Any]:
        return {}

    @people.post("/batch", operation_id="post_people")
    async def post_people(body: List[Person]) -> Dict[str, Any]:
        return {}

    app.include_router(people)
    return app


def _names(tools: Any) -> List[str]:
    return sorted(tool.name for tool in tools)


BUSINESS = [
    "create_item",
    "delete_user",
    "get_item",
    "greet_user",
    "post_people",
    "put_person",
]


def test_business_operations_only(demo_apps: str) -> None:
    app = _app(demo_apps, ManagementPlugin())
    tools = build_tools(app.openapi(), base="/flyer")
    names = _names(tools)
    assert "list_jobs" not in names
    assert "pause_job" not in names
    assert not any("ready" in name or "health" in name for name in names)
    # A plugin's route outside the known paths is only hidden by the plugin (below).
    assert names == sorted([*BUSINESS, "admin_stats"])


@pytest.mark.parametrize(
    "path",
    [
        "/flyer/tasks",
        "/flyer/tasks/{job_id}/pause",
        "/flyer/ready",
        "/flyer/health_check",
        "/health_check",
        "/flyer/docs",
        "/flyer/redoc",
        "/flyer/openapi.json",
        "/flyer/static/{name}",
        "/metrics",
        "/flyer/metrics",
        "/flyer/mcp",
    ],
)
def test_framework_paths_are_never_tools(path: str) -> None:
    assert hidden_path(path, "/flyer")


def test_business_paths_are_tools() -> None:
    assert not hidden_path("/flyer/items/{item_id}", "/flyer")
    assert not hidden_path("/flyer/tasks_report", "/flyer")
    assert not hidden_path("/flyer/heartbeat", "/flyer")


def test_names_descriptions_and_parameter_schemas(demo_apps: str) -> None:
    tools = {tool.name: tool for tool in build_tools(_app(demo_apps).openapi(), base="/flyer")}
    get_item = tools["get_item"]
    assert get_item.method == "GET"
    assert get_item.path == "/flyer/items/{item_id}"
    assert get_item.tags == ("Items",)
    assert get_item.description == (
        "Read an item\n\nOne item by id; 404 in the envelope for id 0.\n\n"
        "HTTP: GET /flyer/items/{item_id}"
    )
    schema = get_item.input_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["item_id"]
    assert schema["properties"]["item_id"]["type"] == "integer"
    assert schema["properties"]["verbose"]["description"] == "more detail"
    greet = tools["greet_user"].input_schema
    assert set(greet["properties"]) == {"user_id", "times", "x-lang"}
    assert greet["properties"]["times"]["maximum"] == 5


def test_a_json_object_body_becomes_fields_beside_the_parameters(demo_apps: str) -> None:
    tools = {tool.name: tool for tool in build_tools(_app(demo_apps).openapi(), base="/flyer")}
    create = tools["create_item"].input_schema
    assert set(create["properties"]) == {"name", "price", "tags"}
    assert create["required"] == ["name"]
    put = tools["put_person"].input_schema
    assert set(put["properties"]) == {"person_id", "dry_run", "name", "address", "friends"}
    assert put["required"] == ["person_id", "name", "address"]
    # Nested models are `$defs` of the schema itself, recursion included.
    assert put["properties"]["address"] == {"$ref": "#/$defs/Address"}
    assert set(put["$defs"]) == {"Address", "Person"}
    assert put["$defs"]["Person"]["properties"]["friends"]["items"] == {"$ref": "#/$defs/Person"}


def test_any_other_body_is_one_body_argument(demo_apps: str) -> None:
    tools = {tool.name: tool for tool in build_tools(_app(demo_apps).openapi(), base="/flyer")}
    batch = tools["post_people"]
    assert set(batch.input_schema["properties"]) == {"body"}
    assert batch.input_schema["required"] == ["body"]
    assert batch.input_schema["properties"]["body"]["items"] == {"$ref": "#/$defs/Person"}
    assert [a.location for a in batch.arguments] == ["body"]


def test_filters_pick_by_tag_and_operation(demo_apps: str) -> None:
    spec = _app(demo_apps).openapi()

    def names(**rules: Any) -> List[str]:
        return _names(build_tools(spec, base="/flyer", tool_filter=ToolFilter().replace(**rules)))

    assert names(include_tags="Users") == ["delete_user", "greet_user"]
    assert names(exclude_tags="Users,People") == ["create_item", "get_item"]
    assert names(include_operations=["get_item"], include_tags=["People"]) == [
        "get_item",
        "post_people",
        "put_person",
    ]
    assert names(exclude_operations="delete_user,put_person") == [
        "create_item",
        "get_item",
        "greet_user",
        "post_people",
    ]


@needs_mcp
def test_the_plugin_hides_every_route_present_before_it(demo_apps: str) -> None:
    app = _app(demo_apps, ManagementPlugin(), McpPlugin())
    endpoint = app.state.flyer_mcp
    assert endpoint.path == "/flyer/mcp"
    assert _names(endpoint.tools()) == BUSINESS


@needs_mcp
def test_the_plugin_reads_its_filters_from_settings(
    demo_apps: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("flyer_mcp_include_tags", "Items,People")
    app = _app(demo_apps, McpPlugin())
    assert _names(app.state.flyer_mcp.tools()) == [
        "create_item",
        "get_item",
        "post_people",
        "put_person",
    ]


@needs_mcp
def test_config_mcp_sets_the_plugins_filters(demo_apps: str) -> None:
    from flyer_mcp import config_mcp

    app = _app(demo_apps, McpPlugin())
    endpoint = config_mcp(app, exclude_tags=["People", "Users"])
    assert endpoint is app.state.flyer_mcp
    assert _names(endpoint.tools()) == ["create_item", "get_item"]
    config_mcp(app, include_operations="greet_user", exclude_tags=())
    assert _names(endpoint.tools()) == ["greet_user"]


@needs_mcp
def test_config_mcp_mounts_on_an_app_without_the_plugin(demo_apps: str) -> None:
    from flyer_mcp import config_mcp

    app = _app(demo_apps)
    assert getattr(app.state, "flyer_mcp", None) is None
    endpoint = config_mcp(app, include_tags="Items")
    assert endpoint is not None
    assert _names(endpoint.tools()) == ["create_item", "get_item"]
    assert any(getattr(route, "path", None) == "/flyer/mcp" for route in app.router.routes)


@needs_mcp
def test_config_mcp_moves_the_endpoint_and_names_the_server(demo_apps: str) -> None:
    from flyer_mcp import config_mcp

    app = _app(demo_apps, McpPlugin())
    endpoint = config_mcp(app, mount_path="/agents/", name="shop", description="The shop's API.")
    assert endpoint is not None
    assert endpoint.path == "/flyer/agents"
    assert (endpoint.name, endpoint.instructions) == ("shop", "The shop's API.")
    paths = [getattr(route, "path", None) for route in app.router.routes]
    assert "/flyer/agents" in paths
    assert "/flyer/mcp" not in paths
