"""Every CLI flag is documented in docs/, and the README keeps its promises."""
from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from realtime3d.cli import build_parser
from realtime3d.trainers.config import METHODS, TrainConfig, doc_tables, method_class

ROOT = Path(__file__).resolve().parents[1]
DOCS = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))


def _flags(parser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"}


def test_cli_flags_are_documented():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        assert f"realtime3d {name}" in DOCS, name
        for flag in _flags(p):
            assert flag in DOCS, f"{name} {flag} is not in docs/"


@pytest.mark.parametrize("cls", [TrainConfig, *(method_class(m).Config for m in METHODS)])
def test_trainer_keys_are_documented(cls):
    """Every config key that `realtime3d train --set` takes is in docs/."""
    section = "train" if cls is TrainConfig else "params"
    for f in dataclasses.fields(cls):
        assert f"`{section}.{f.name}`" in DOCS, f"{cls.__name__} {section}.{f.name} is not in docs/"


def test_config_key_tables_are_current():
    """docs/training.md holds the tables `realtime3d.trainers.config.doc_tables` prints (every key,
    its default and meaning), so they cannot drift from the dataclasses."""
    training = (ROOT / "docs" / "training.md").read_text()
    for table in doc_tables().split("\n\n### "):
        assert table.removeprefix("### ") in training, table.splitlines()[0]


def test_readme_has_setup_commands_and_acknowledgement():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/setup.sh" in readme and "pytest" in readme
    assert "The data used in this project was obtained from mocap.cs.cmu.edu." in readme
    assert "The database was created with funding from NSF EIA-0196217." in readme


def test_ci_runs_the_readme_commands_and_the_app_installs_without_triton():
    """.ci/run runs the README's test command's set-up and test steps verbatim; the app's own
    dependencies leave triton out (CUDA builds of torch bring it; the test extra adds it for the
    interpreter tests), and pandas comes only through the analysis extra, which the tests use."""
    import tomllib
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"# tests \(what CI runs\)\n(.*)\n", readme).group(1)
    setup, test = block.split(" && ", 1)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert setup in ci and test in ci, (block, ci)
    assert re.search(r"# main job: .*\nbash scripts/setup\.sh && ", readme)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith(("triton", "pandas"))]
    extras = project["optional-dependencies"]
    assert any(d.startswith("triton") for d in extras["test"]) and "realtime3d[analysis]" in extras["test"]
    assert [d.split(">")[0] for d in extras["analysis"]] == ["pandas"]


def test_readme_python_snippet_runs_as_pasted(tmp_path):
    """The README's Python block, run in a fresh interpreter outside the checkout."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "no Python block in the README"
    done = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("[") >= 17                 # printed a [17, 3] array


def test_readme_python_version_matches_pyproject():
    import tomllib
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    version = re.fullmatch(r">=\s*(\d+\.\d+)", wanted.split("#")[0].strip()).group(1)
    readme = (ROOT / "README.md").read_text()
    assert f"Python {version} or newer" in readme
    assert not re.search(r"Python 3\.\d+\+", readme)    # no other version promised


def test_result_tables_are_their_results_files():
    """Every result table of docs/results.md, and the README's headline one, is what
    benchmarks/readme_tables.py prints from benchmarks/results/, so no figure there drifts from
    the script and file that measured it."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from readme_tables import MARKED, README_ONLY, README_TABLES, refill, tables
    made = tables()
    results = (ROOT / "docs" / "results.md").read_text()
    assert set(MARKED.findall(results)) == set(made) - set(README_ONLY), \
        "docs/results.md should mark every table readme_tables makes (but the README's short views)"
    readme = (ROOT / "README.md").read_text()
    assert MARKED.findall(readme) == list(README_TABLES), "the README should mark its headline tables alone"
    for page in (results, readme):
        assert refill(page, made) == page, "run `python benchmarks/readme_tables.py --write`"


def test_readme_is_short_and_names_no_process():
    """The README is for users: at most 250 lines, and neither it nor docs/ names an issue or a seed file."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for text in (readme, DOCS):
        assert not re.search(r"issue \d|seeds/0{2}", text, flags=re.I)


def test_doc_links_resolve():
    """Every relative link of the README and docs/ names a file that exists and, with #anchor, a heading in it."""
    def anchors(path: Path) -> set[str]:
        heads = re.findall(r"^#+ (.*)$", path.read_text(), flags=re.M)
        return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"\w+://", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            assert path.exists(), f"{page.name}: {target}"
            if anchor and path.suffix == ".md":
                assert anchor in anchors(path), f"{page.name}: {target}"
