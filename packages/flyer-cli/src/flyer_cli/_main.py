"""Argument parsing and dispatch for the `flyer` command.

Only argparse is imported here; each command module is imported when its command runs,
and those import the framework lazily too.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Optional, Sequence

from flyer_cli.__about__ import __version__
from flyer_cli._errors import CliError

PROG = "flyer"
DESCRIPTION = "Create, run and inspect flyer projects."
EPILOG = """\
first steps:
  flyer create shop      generate a project in ./shop
  cd shop && flyer run   serve it with reload on http://127.0.0.1:8080
run `flyer COMMAND --help` for a command's options."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) and exit with 2."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see `{self.prog} --help`)"
        self.exit(2, f"{PROG}: error: {message}{hint}\n")


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: expected an integer 1-65535")
    return port


def _workers(value: str) -> int:
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if workers < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected an integer >= 1")
    return workers


def _app_ref(value: str) -> str:
    module, _, attr = value.partition(":")
    parts = module.split(".")
    if not attr or not attr.isidentifier() or not all(p.isidentifier() for p in parts):
        raise argparse.ArgumentTypeError(f"{value!r}: expected MODULE:ATTRIBUTE, e.g. main:app")
    return value


def _add_app(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        type=_app_ref,
        default="main:app",
        metavar="MODULE:ATTR",
        help="the ASGI app to load, relative to the current directory (default: main:app)",
    )


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_lock_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-lock",
        action="store_true",
        help="write no uv.lock (by default `uv lock` runs when uv is on PATH)",
    )
    parser.add_argument(
        "--flyer-source",
        metavar="PATH",
        help="take the flyer-* packages from this flyer checkout (editable paths in "
        "[tool.uv.sources]) instead of the package index: for working on flyer itself",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full `flyer` argument parser (exposed for tests and shell completion tools)."""
    parser = _Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"flyer-cli {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    create = commands.add_parser(
        "create",
        help="generate a new project",
        description="Generate a new flyer project: demo apps, tests, Dockerfile and start scripts.",
    )
    create.add_argument("name", metavar="NAME", help="project name: letters, digits, '-' and '_'")
    create.add_argument(
        "--prefix",
        metavar="/PREFIX",
        help="URL prefix every API is served under (flyer_base_url; default: /NAME)",
    )
    create.add_argument(
        "--dir", metavar="PATH", help="directory to generate into (default: ./NAME)"
    )
    create.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty directory, overwriting the generated files",
    )
    _add_lock_options(create)

    create_app = commands.add_parser(
        "create_app",
        help="FastFlyer's form: generate the project into the current directory",
        description="Generate a project into the current directory, named after it "
        "(FastFlyer's `fastflyer create_app`). Same as `flyer create <dir name> --dir .`.",
    )
    create_app.add_argument(
        "--prefix", metavar="/PREFIX", help="URL prefix (flyer_base_url; default: /<dir name>)"
    )
    create_app.add_argument(
        "--force", action="store_true", help="write into a non-empty current directory"
    )
    _add_lock_options(create_app)

    run = commands.add_parser(
        "run",
        help="development server with reload (uvicorn)",
        description="Serve the project in the current directory with uvicorn, reloading on "
        "code changes. With nothing configured it uses the embedded defaults: SQLite, an "
        "in-memory cache and file locks.",
    )
    _add_app(run)
    run.add_argument("--host", help="bind address (default: flyer_host)")
    run.add_argument("--port", type=_port, help="bind port (default: flyer_port)")
    run.add_argument("--no-reload", action="store_true", help="do not reload on code changes")

    serve = commands.add_parser(
        "serve",
        help="production server (gunicorn + uvicorn workers, or granian)",
        description="Serve the project in the current directory for production: gunicorn with "
        "uvicorn workers configured from the flyer_* settings, or granian when installed.",
    )
    _add_app(serve)
    serve.add_argument(
        "-w", "--workers", type=_workers, help="worker processes (default: flyer_workers)"
    )
    serve.add_argument("--host", help="bind address (default: flyer_host)")
    serve.add_argument("--port", type=_port, help="bind port (default: flyer_port)")
    serve.add_argument(
        "--server",
        choices=["gunicorn", "granian"],
        default="gunicorn",
        help="process manager (default: gunicorn; granian needs `pip install granian`)",
    )

    routes = commands.add_parser(
        "routes",
        help="list every route: method, path, name, module, auth",
        description="Load the app and list its routes with the module that defines each and "
        "whether it requires flyer's HTTP Basic auth.",
    )
    _add_app(routes)
    _add_json(routes)

    config = commands.add_parser(
        "config",
        help="show every effective setting and where it came from",
        description="Show every flyer_* setting of the project in the current directory, its "
        "effective value and its source (default, settings.py, .env or environment). Secrets "
        "are masked.",
    )
    _add_json(config)

    version = commands.add_parser(
        "version",
        help="show every installed flyer package and its version",
        description="Show every installed flyer-* distribution and its version.",
    )
    _add_json(version)
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "create":
        from flyer_cli._create import create_command

        return create_command(
            args.name,
            prefix=args.prefix,
            directory=args.dir,
            force=args.force,
            flyer_source=args.flyer_source,
            lock=not args.no_lock,
        )
    if command == "create_app":
        import os

        from flyer_cli._create import create_command, validate_name

        name = os.path.basename(os.getcwd())
        try:
            validate_name(name)
        except CliError as exc:
            raise CliError(
                f"{exc.message}; it is the current directory's name, so use "
                "`flyer create NAME --dir .`"
            ) from None
        return create_command(
            name,
            prefix=args.prefix,
            directory=".",
            force=args.force,
            flyer_source=args.flyer_source,
            lock=not args.no_lock,
        )
    if command == "run":
        from flyer_cli._servers import run_command

        return run_command(args.app, host=args.host, port=args.port, reload=not args.no_reload)
    if command == "serve":
        from flyer_cli._servers import serve_command

        return serve_command(
            args.app, workers=args.workers, host=args.host, port=args.port, server=args.server
        )
    if command == "routes":
        from flyer_cli._routes import routes_command

        return routes_command(args.app, as_json=args.json)
    if command == "config":
        from flyer_cli._config import config_command

        return config_command(as_json=args.json)
    from flyer_cli._versions import version_command

    return version_command(as_json=args.json)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the `flyer` command with `argv` (default: `sys.argv[1:]`); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return _dispatch(args)
    except CliError as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
