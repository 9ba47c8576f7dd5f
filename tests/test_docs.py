"""Every CLI flag is documented in docs/, and the README keeps its promises."""
from __future__ import annotations

from pathlib import Path

import pytest

from realtime3d.cli import build_parser
from realtime3d.trainers.baselines import SupervisedConfig
from realtime3d.trainers.common import config_parser
from realtime3d.trainers.drover import DroverConfig

ROOT = Path(__file__).resolve().parents[1]
DOCS = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))


def _flags(parser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"}


def test_cli_flags_are_documented():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        assert f"realtime3d {name}" in DOCS, name
        for flag in _flags(p):
            assert flag in DOCS, f"{name} {flag} is not in docs/"


@pytest.mark.parametrize("cls", [DroverConfig, SupervisedConfig])
def test_trainer_flags_are_documented(cls):
    for flag in _flags(config_parser(cls, "")):
        assert flag in DOCS, f"{cls.__name__} {flag} is not in docs/"


def test_readme_has_setup_commands_and_acknowledgement():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/setup.sh" in readme and "pytest" in readme
    assert "The data used in this project was obtained from mocap.cs.cmu.edu." in readme
    assert "The database was created with funding from NSF EIA-0196217." in readme
