"""flyer-core reads `.env` with flyer_status's reader: python-dotenv's grammar, but strict."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from flyer_core import SettingsError, load_settings
from flyer_core._settings import read_env_file
from flyer_status import settings as toolkit

WELL_FORMED = [
    "A=1\nB=2\n",
    "export A=1\n  B = spaced  \n",
    "A=bare # comment\nB=#kept\nC= # comment only\n",
    "A='single \\' \\\\ \\n kept'\n",
    'A="double \\" \\\\ \\n \\t done"\n',
    'A="multi\nline"\nB=after\n',
    "A=1\nB=${A}x\nC=${NOPE:-dflt}\nD='${A}'\n",
    "# only comments\n\n\n# more\n",
    "BARE\nA=1\n",
    "A=1\r\nB=2\r\n",
    "\ufeffA=bom\n",
    "'quoted key'=1\n",
    "A=\nB=''\nC=\"\"\n",
]
# Read differently by python-dotenv releases before 1.1 (the one Python 3.8 gets): flyer reads
# them as current python-dotenv does, whatever release is installed.
AS_CURRENT_DOTENV = {
    "A=bare # comment\nB=#kept\nC= # comment only\n": {"A": "bare", "B": "#kept", "C": ""},
    "\ufeffA=bom\n": {"A": "bom"},
}


@pytest.mark.parametrize("content", WELL_FORMED)
def test_well_formed_files_read_as_python_dotenv_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    monkeypatch.delenv("A", raising=False)
    monkeypatch.delenv("NOPE", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_bytes(content.encode("utf-8"))
    theirs = {k: v for k, v in dotenv_values(env_file, encoding="utf-8").items() if v is not None}
    assert read_env_file(str(env_file)) == AS_CURRENT_DOTENV.get(content, theirs)


def test_core_errors_are_core_settings_errors_and_toolkit_ones(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("flyer_port='9000\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(str(env_file), {})
    assert isinstance(caught.value, toolkit.SettingsError)
    assert str(caught.value).startswith(f"{env_file}, line 1: flyer_port: cannot be parsed")
