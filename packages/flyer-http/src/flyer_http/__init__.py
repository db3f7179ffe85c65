"""Retrying sync and async HTTP clients on httpx and tenacity."""

from flyer_http.__about__ import __version__

__all__ = ["__version__"]
