"""The flyer command: create, run, serve, routes, config, version.

Importing this package loads nothing but the standard library's argparse: each command
imports the framework only when it runs, so `flyer --help` stays fast.
"""

from flyer_cli.__about__ import __version__
from flyer_cli._main import main

__all__ = ["__version__", "main"]
