"""SQLAlchemy engines and sessions, and a dataset helper that survives restarts."""

from flyer_db.__about__ import __version__

__all__ = ["__version__"]
