"""Status codes, phrases, the response envelope and the error hierarchy for flyer."""

from flyer_status.__about__ import __version__

__all__ = ["__version__"]
