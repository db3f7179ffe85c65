import importlib.metadata

import flyer_mcp


def test_version_matches_installed_metadata() -> None:
    assert flyer_mcp.__version__ == importlib.metadata.version("flyer-mcp")
