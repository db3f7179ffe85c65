"""`McpEndpoint`: the MCP server (the official SDK) behind `{base}/mcp`. Python 3.10+.

Stateless streamable HTTP: every POST is served on its own, with no server-side session, so
consecutive requests may reach different workers of `flyer serve -w N`.

The SDK (and httpx, which tool calls use) is imported by the endpoint's first request, not
when the app is built or started.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import logging
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Collection,
    Dict,
    FrozenSet,
    List,
    Optional,
    Tuple,
    Union,
)

from flyer_mcp._mount import NOT_RUNNING, REQUEST_ID_KEY
from flyer_status import FlyerError

if TYPE_CHECKING:
    # The SDK installs on Python 3.10+ only: a type check where it is absent sees these as Any.
    from mcp import types  # type: ignore[import-not-found, unused-ignore]
    from mcp.server import (  # type: ignore[import-not-found, unused-ignore]
        Server,
        ServerRequestContext,
    )
    from mcp.server.streamable_http_manager import (  # type: ignore[import-not-found, unused-ignore]
        StreamableHTTPSessionManager,
    )
    from starlette.types import Receive, Scope, Send

    from flyer_mcp._filters import ToolFilter
    from flyer_mcp._tools import ApiTool

logger = logging.getLogger("flyer.mcp")

INSTRUCTIONS = (
    "Each tool performs one operation of this HTTP API and returns the JSON envelope the "
    "API answered with: code (the HTTP status, or a 60x third-party code), message, detail, "
    "data and request_id."
)


def _content(text: str) -> List[types.ContentBlock]:
    from mcp import types  # type: ignore[import-not-found, unused-ignore]

    return [types.TextContent(type="text", text=text)]


class McpEndpoint:
    """The app's operations as MCP tools; `handle` is the ASGI app serving `path`
    (`{base}/mcp` unless `mount_path` says otherwise).

    `start()` / `stop()` bracket the time it serves (flyer's plugin calls them from the app's
    lifespan); the SDK's session manager starts with the first request. Tools are read from
    `app.openapi()` on first use, after every router is mounted; `tool_filter` (a filter, or
    a function that makes it when the tools are first read) can change until then and
    afterwards.
    """

    def __init__(
        self,
        app: Any,
        *,
        base: str,
        tool_filter: Union[ToolFilter, Callable[[], ToolFilter], None] = None,
        hidden: Union[Collection[Tuple[str, str]], Callable[[], Collection[Tuple[str, str]]]] = (),
        mount_path: str = "/mcp",
    ) -> None:
        self.app = app
        self.base = base.rstrip("/")
        self.path = self.base + "/" + mount_path.strip("/")
        self.name = str(getattr(app, "title", "") or "flyer")
        self.instructions = INSTRUCTIONS
        self._hidden = hidden if callable(hidden) else frozenset(hidden)
        self._filter = tool_filter
        self._tools: Optional[Dict[str, ApiTool]] = None
        self._manager: Optional[StreamableHTTPSessionManager] = None
        self._runner: Optional[asyncio.Task[None]] = None
        self._stopping: Optional[asyncio.Event] = None
        self._lock: Optional[asyncio.Lock] = None
        self._started = False

    @property
    def tool_filter(self) -> ToolFilter:
        """Which operations are tools (none given: every one)."""
        if self._filter is None or callable(self._filter):
            from flyer_mcp._filters import ToolFilter

            self._filter = ToolFilter() if self._filter is None else self._filter()
        return self._filter

    @tool_filter.setter
    def tool_filter(self, value: ToolFilter) -> None:
        self._filter = value
        self._tools = None

    @property
    def hidden(self) -> FrozenSet[Tuple[str, str]]:
        """`(METHOD, path)` of the operations never served as tools."""
        if callable(self._hidden):
            self._hidden = frozenset(self._hidden())
        return self._hidden

    def tools(self) -> List[ApiTool]:
        """The tools, built from the app's OpenAPI document on first use (the first MCP
        request or readiness check) and kept (built again after a new filter)."""
        if self._tools is None:
            from flyer_mcp._tools import build_tools

            found = build_tools(
                self.app.openapi(), base=self.base, tool_filter=self.tool_filter, hidden=self.hidden
            )
            self._tools = {tool.name: tool for tool in found}
            logger.info("mcp tools read", extra={"path": self.path, "tools": len(self._tools)})
        return list(self._tools.values())

    def _server(self) -> Server[Any]:
        from mcp.server import Server  # type: ignore[import-not-found, unused-ignore]

        return Server(
            self.name,
            version=str(getattr(self.app, "version", "") or ""),
            instructions=self.instructions,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )

    @property
    def running(self) -> bool:
        """Started and not stopped (the SDK's session manager, once made, still runs)."""
        return self._started and (self._runner is None or not self._runner.done())

    async def start(self) -> None:
        """Accept requests from now on (`stop()` ends that).

        The tools are read from the app's OpenAPI document by the first request or readiness
        check (`tools()`): a document that cannot be read fails those, not the start. The SDK
        is imported, in a worker thread, and its session manager started in a task of its
        own by the first request: an app whose endpoint is never called never loads it.
        """
        if self.running:
            return
        self._lock = asyncio.Lock()
        self._started = True
        logger.info("mcp ready", extra={"path": self.path})

    async def _session_manager(self) -> StreamableHTTPSessionManager:
        """The SDK's session manager, made and started by the first request."""
        existing = self._manager
        if existing is not None:
            return existing
        if self._lock is None:
            raise FlyerError(503, "Service Unavailable", NOT_RUNNING)
        async with self._lock:
            if self._manager is not None:
                return self._manager
            loop = asyncio.get_running_loop()
            # Imported in a worker thread: the event loop goes on serving meanwhile.
            sdk = await loop.run_in_executor(
                None, importlib.import_module, "mcp.server.streamable_http_manager"
            )
            if not self._started:  # stopped while the SDK was imported
                raise FlyerError(503, "Service Unavailable", NOT_RUNNING)
            manager: StreamableHTTPSessionManager = sdk.StreamableHTTPSessionManager(
                self._server(), json_response=True, stateless=True
            )
            started = asyncio.Event()
            stopping = asyncio.Event()

            async def run() -> None:
                async with manager.run():
                    started.set()
                    await stopping.wait()

            # In a context of its own: nothing of the request that started it (its id) leaks
            # into the manager's task.
            runner = contextvars.Context().run(asyncio.ensure_future, run())
            waiter = asyncio.ensure_future(started.wait())
            await asyncio.wait({waiter, runner}, return_when=asyncio.FIRST_COMPLETED)
            if not started.is_set():
                waiter.cancel()
                runner.result()  # raises what stopped the manager
            self._manager, self._runner, self._stopping = manager, runner, stopping
            return manager

    async def stop(self) -> None:
        """Stop accepting requests (those that come after are answered 503) and stop the
        session manager if one was started."""
        self._started = False
        runner, self._runner, self._manager = self._runner, None, None
        if runner is None or self._stopping is None:
            return
        self._stopping.set()
        try:
            await runner
        except Exception as exc:  # the manager's own failure: logged, shutdown goes on
            logger.error("mcp stopped with an error", extra={"error": type(exc).__name__})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request to the endpoint (the SDK's streamable HTTP transport)."""
        if not self.running:
            raise FlyerError(503, "Service Unavailable", NOT_RUNNING)
        manager = await self._session_manager()
        await manager.handle_request(scope, receive, send)

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: Optional[types.PaginatedRequestParams]
    ) -> types.ListToolsResult:
        from mcp import types  # type: ignore[import-not-found, unused-ignore]

        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=tool.name,
                    title=tool.operation_id if tool.operation_id != tool.name else None,
                    description=tool.description,
                    input_schema=tool.input_schema,
                    annotations=types.ToolAnnotations(
                        read_only_hint=tool.read_only,
                        destructive_hint=tool.method == "DELETE",
                        idempotent_hint=tool.method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE"),
                        open_world_hint=False,
                    ),
                )
                for tool in self.tools()
            ]
        )

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        from mcp import types  # type: ignore[import-not-found, unused-ignore]
        from mcp.shared.exceptions import MCPError  # type: ignore[import-not-found, unused-ignore]

        from flyer_mcp._call import ArgumentError, call_operation

        self.tools()
        tool = (self._tools or {}).get(params.name)
        if tool is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {params.name!r}")
        request = ctx.request
        headers: Dict[str, str] = {}
        base_url = "http://localhost"
        client: Optional[Tuple[str, int]] = None
        if request is not None:
            headers = dict(request.headers)
            request_id = request.scope.get(REQUEST_ID_KEY)
            if request_id:  # the id flyer gave the MCP request: one id for both access lines
                headers["x-request-id"] = str(request_id)
            base_url = f"{request.url.scheme}://{request.url.netloc}"
            if request.client is not None:
                client = (request.client.host, request.client.port)
        try:
            result = await call_operation(
                self.app,
                tool,
                params.arguments or {},
                base_url=base_url,
                headers=headers,
                client=client,
            )
        except ArgumentError as exc:
            return types.CallToolResult(content=_content(str(exc)), is_error=True)
        logger.debug("mcp tool called", extra={"tool": tool.name, "status": result.status})
        return types.CallToolResult(
            content=_content(result.text),
            structured_content=result.data if isinstance(result.data, dict) else None,
            is_error=result.status >= 400,
        )
