"""The one error type commands raise: a one-line message and an exit status."""

from __future__ import annotations


class CliError(Exception):
    """A failure the user can fix; printed as `flyer: error: <message>` with no traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def one_line(exc: BaseException) -> str:
    """The exception's message squeezed onto one line (pydantic errors span several)."""
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text or type(exc).__name__
