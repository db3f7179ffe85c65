"""`TelemetrySettings`: defaults, parsing, and one-line errors naming the variable."""

from __future__ import annotations

import pytest

from flyer_telemetry import TelemetrySettings, settings_fields


def test_defaults_metrics_on_tracing_off() -> None:
    own = TelemetrySettings.from_env({})
    assert (own.metrics_enabled, own.metrics_path, own.tracing_enabled) == (True, "/metrics", False)


def test_values_are_read_case_insensitively() -> None:
    own = TelemetrySettings.from_env(
        {
            "FLYER_METRICS_ENABLED": "off",
            "flyer_metrics_path": "/ops/prom/",
            "Flyer_Tracing_Enabled": "yes",
        }
    )
    assert (own.metrics_enabled, own.metrics_path, own.tracing_enabled) == (
        False,
        "/ops/prom",
        True,
    )


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("flyer_metrics_enabled", "maybe", "expected a boolean"),
        ("flyer_tracing_enabled", "2", "expected a boolean"),
        ("flyer_metrics_path", "metrics", "expected a path starting with '/'"),
        ("flyer_metrics_path", "/a b", "expected a path starting with '/'"),
    ],
)
def test_a_bad_value_is_one_line_naming_it(variable: str, value: str, allowed: str) -> None:
    with pytest.raises(ValueError) as caught:
        TelemetrySettings.from_env({variable: value})
    text = str(caught.value)
    assert text.startswith(f"{variable}={value!r}: {allowed}")
    assert "\n" not in text


def test_fields_list_every_variable_with_its_default() -> None:
    assert [(f["name"], f["default"]) for f in settings_fields()] == [
        ("flyer_metrics_enabled", "1"),
        ("flyer_metrics_path", "/metrics"),
        ("flyer_tracing_enabled", "0"),
    ]
