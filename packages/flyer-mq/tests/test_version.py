import re

import flyer_mq


def test_version_is_semver() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", flyer_mq.__version__)
