import importlib.metadata

import flyer_cache


def test_version_matches_installed_metadata() -> None:
    assert flyer_cache.__version__ == importlib.metadata.version("flyer-cache")
