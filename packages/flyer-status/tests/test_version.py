import importlib.metadata

import flyer_status


def test_version_matches_installed_metadata() -> None:
    assert flyer_status.__version__ == importlib.metadata.version("flyer-status")
