import importlib.metadata

import flyer_sched


def test_version_matches_installed_metadata() -> None:
    assert flyer_sched.__version__ == importlib.metadata.version("flyer-sched")
