"""flyer reads the `flyer.plugins` entry points from the distributions on `sys.path` itself
(faster than `importlib.metadata`'s scan); it finds what `importlib.metadata` finds."""

from __future__ import annotations

import importlib.metadata
import sys
import zipfile
from pathlib import Path
from typing import Any, Set, Tuple

import pytest

from flyer_core._plugins import GROUP, _entry_points, _scanned_entry_points


def _stdlib() -> Set[Tuple[str, str]]:
    found = importlib.metadata.entry_points()
    group = found.select(group=GROUP) if hasattr(found, "select") else found.get(GROUP, [])
    return {(ep.name, ep.value) for ep in group}


def _pairs(eps: Any) -> Set[Tuple[str, str]]:
    return {(ep.name, ep.value) for ep in eps}


def _dist(where: Path, name: str, entry_points: str) -> None:
    info = where / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_the_installed_plugins_are_found_as_importlib_metadata_finds_them() -> None:
    scanned = _scanned_entry_points()
    assert scanned is not None
    assert _pairs(scanned) == _stdlib()
    assert all(ep.group == GROUP for ep in scanned)


def test_extra_directories_first_distribution_of_a_name_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _dist(
        first,
        "acme_plugin",
        "# comment\n[console_scripts]\nacme = acme:main\n\n[flyer.plugins]\nacme = acme.plugin:Plugin\n",
    )
    _dist(second, "Acme.Plugin", "[flyer.plugins]\nacme = old.acme:Plugin\n")  # same name
    _dist(second, "other", "[flyer.plugins]\n# a comment\n other =  other:Plugin \n")
    _dist(second, "nothing", "[console_scripts]\nx = y:z\n")
    installed = _stdlib()
    monkeypatch.setattr(sys, "path", [str(first), str(second), *sys.path])
    scanned = _scanned_entry_points()
    assert scanned is not None
    # `acme` of the second directory is shadowed (importlib.metadata drops it on 3.10+; 3.8
    # and 3.9 list both, and flyer used the first in sort order)
    assert _pairs(scanned) == installed | {
        ("acme", "acme.plugin:Plugin"),
        ("other", "other:Plugin"),
    }


def test_a_zip_on_sys_path_is_left_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zipped-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped\n")
        bundle.writestr(
            "zipped-1.0.dist-info/entry_points.txt", "[flyer.plugins]\nzipped = zipped:Plugin\n"
        )
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    assert _scanned_entry_points() is None
    assert ("zipped", "zipped:Plugin") in _pairs(_entry_points())
    assert _pairs(_entry_points()) == _stdlib()
