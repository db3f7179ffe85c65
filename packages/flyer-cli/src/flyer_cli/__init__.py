"""The flyer command: create, run, serve, routes, config, version."""

from flyer_cli.__about__ import __version__

__all__ = ["__version__"]
