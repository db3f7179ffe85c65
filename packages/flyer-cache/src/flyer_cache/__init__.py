"""Redis clients and pools, an in-memory TTL cache and a cache decorator."""

from flyer_cache.__about__ import __version__

__all__ = ["__version__"]
