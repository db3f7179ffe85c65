"""Status codes, phrases, the response envelope and the error hierarchy for flyer.

Codes, phrases, errors and `envelope()` need nothing but the standard library; the pydantic
models live in `flyer_status.schemas` (install `flyer-status[models]`).
"""

from flyer_status import lazy, settings, status
from flyer_status.__about__ import __version__
from flyer_status._codes import LANGUAGES, code_name, describe, http_status_for, is_known, phrase
from flyer_status._context import get_request_id, request_id_var
from flyer_status._envelope import (
    EnvelopeRenderer,
    current_renderer,
    envelope,
    preferred_language,
    renderer_var,
)
from flyer_status._errors import (
    FlyerError,
    SettingsError,
    ThirdPartyDataError,
    ThirdPartyError,
    ThirdPartyNetworkError,
    ThirdPartyRetryError,
    ThirdPartyStatusError,
    ThirdPartyTimeoutError,
    ThirdPartyUnavailableError,
)
from flyer_status._retry import RetryPolicy

__all__ = [
    "LANGUAGES",
    "EnvelopeRenderer",
    "FlyerError",
    "RetryPolicy",
    "SettingsError",
    "ThirdPartyDataError",
    "ThirdPartyError",
    "ThirdPartyNetworkError",
    "ThirdPartyRetryError",
    "ThirdPartyStatusError",
    "ThirdPartyTimeoutError",
    "ThirdPartyUnavailableError",
    "__version__",
    "code_name",
    "current_renderer",
    "describe",
    "envelope",
    "get_request_id",
    "http_status_for",
    "is_known",
    "lazy",
    "phrase",
    "preferred_language",
    "renderer_var",
    "request_id_var",
    "settings",
    "status",
]
