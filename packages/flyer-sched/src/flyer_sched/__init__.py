"""Scheduled jobs that run once per tick across every process and host."""

from flyer_sched.__about__ import __version__

__all__ = ["__version__"]
