from flyer_mcp import ToolFilter


def test_no_lists_let_everything_through() -> None:
    assert ToolFilter().allows("get_item", ["Items"])
    assert ToolFilter().allows("untagged", [])


def test_includes_are_a_union_of_tags_and_operations() -> None:
    only = ToolFilter(include_tags=("Users",), include_operations=("get_item",))
    assert only.allows("greet_user", ["Users"])
    assert only.allows("get_item", ["Items"])
    assert not only.allows("create_item", ["Items"])
    assert not only.allows("untagged", [])


def test_excludes_win_over_includes() -> None:
    rules = ToolFilter(include_tags=("Users",), exclude_operations=("delete_user",))
    assert rules.allows("greet_user", ["Users"])
    assert not rules.allows("delete_user", ["Users"])
    assert not ToolFilter(exclude_tags=("Items",)).allows("get_item", ["Items", "Other"])


def test_replace_takes_lists_or_comma_separated_text_and_keeps_the_rest() -> None:
    base = ToolFilter(include_tags=("Items",), exclude_tags=("Admin",))
    changed = base.replace(include_tags="Users, Items", exclude_operations=["a", " b "])
    assert changed.include_tags == ("Users", "Items")
    assert changed.exclude_tags == ("Admin",)
    assert changed.exclude_operations == ("a", "b")
    assert base.replace() == base


def test_a_tool_name_differing_from_the_operation_id_matches_either() -> None:
    rules = ToolFilter(include_operations=("items_get",))
    assert rules.allows("items:get", [], alias="items_get")
