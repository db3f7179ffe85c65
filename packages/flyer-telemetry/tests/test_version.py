import importlib.metadata

import flyer_telemetry


def test_version_matches_installed_metadata() -> None:
    assert flyer_telemetry.__version__ == importlib.metadata.version("flyer-telemetry")
