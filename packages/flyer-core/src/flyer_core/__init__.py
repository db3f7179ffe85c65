"""The flyer app factory: settings, logging, envelope, middleware, health, docs, plugins, runners."""

from flyer_core.__about__ import __version__

__all__ = ["__version__"]
