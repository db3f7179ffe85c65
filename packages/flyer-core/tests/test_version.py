import importlib.metadata

import flyer_core


def test_version_matches_installed_metadata() -> None:
    assert flyer_core.__version__ == importlib.metadata.version("flyer-core")
