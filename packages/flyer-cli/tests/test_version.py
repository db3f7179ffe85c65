import importlib.metadata

import flyer_cli


def test_version_matches_installed_metadata() -> None:
    assert flyer_cli.__version__ == importlib.metadata.version("flyer-cli")
