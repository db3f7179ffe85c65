import pytest

from flyer_mcp import McpSettings, settings_fields


def test_defaults_serve_every_operation() -> None:
    settings = McpSettings.from_env({})
    assert settings.enabled is True
    assert settings.include_tags == settings.exclude_tags == ()
    assert settings.include_operations == settings.exclude_operations == ()


def test_lists_are_comma_separated_and_names_case_insensitive() -> None:
    settings = McpSettings.from_env(
        {
            "FLYER_MCP_INCLUDE_TAGS": " Items, Users ,,",
            "flyer_mcp_exclude_operations": "delete_user",
            "flyer_mcp_enabled": "off",
        }
    )
    assert settings.include_tags == ("Items", "Users")
    assert settings.exclude_operations == ("delete_user",)
    assert settings.enabled is False


def test_a_bad_boolean_is_one_line_naming_variable_and_value() -> None:
    with pytest.raises(ValueError) as info:
        McpSettings.from_env({"flyer_mcp_enabled": "maybe"})
    message = str(info.value)
    assert message.startswith("flyer_mcp_enabled='maybe': expected a boolean")
    assert "\n" not in message


def test_settings_fields_name_every_variable() -> None:
    names = [field["name"] for field in settings_fields()]
    assert names == [
        "flyer_mcp_enabled",
        "flyer_mcp_include_tags",
        "flyer_mcp_exclude_tags",
        "flyer_mcp_include_operations",
        "flyer_mcp_exclude_operations",
    ]
    assert not any(field["secret"] for field in settings_fields())


def test_fastflyers_separators_work_too() -> None:
    settings = McpSettings.from_env({"flyer_mcp_exclude_tags": "Items | Users;Admin"})
    assert settings.exclude_tags == ("Items", "Users", "Admin")
