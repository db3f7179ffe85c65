import importlib.metadata

import flyer_http


def test_version_matches_installed_metadata() -> None:
    assert flyer_http.__version__ == importlib.metadata.version("flyer-http")
