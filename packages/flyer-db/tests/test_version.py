import importlib.metadata

import flyer_db


def test_version_matches_installed_metadata() -> None:
    assert flyer_db.__version__ == importlib.metadata.version("flyer-db")
