"""docs/outputs.md against what a run writes: every file it names is written, and every array of
poses.npz has the type and shape it gives, whichever people --person keeps (one layout)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED, run_cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"
STREET = SHARED / "data" / "media" / "street_dance.avi"
FRAMES = 12
#: The type words of the doc, as NumPy kinds: (kind letters, item size in bytes or None).
TYPES = {"float32": ("f", 4), "float64": ("f", 8), "float": ("f", None), "int": ("iu", None), "str": ("U", None)}


def section(title: str) -> str:
    """The text of docs/outputs.md from the heading `title` to the next heading of its level."""
    text = DOC.read_text()
    start = text.index(f"\n{title}\n")
    level = title.split()[0]
    end = text.find(f"\n{level} ", start + len(title) + 2)
    return text[start:end if end > 0 else None]


def table(text: str) -> list[list[str]]:
    """The rows of the first Markdown table in text, header and rule left out."""
    rows = [line.strip().strip("|").split(" | ") for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row] for row in rows[1:]]


def npz_doc() -> dict[str, tuple[str, int | None]]:
    """The poses.npz table: array name -> (type word, number of axes; None: a scalar)."""
    doc = {}
    for names, kind, meaning in table(section("## `poses.npz`")):
        if "only with" in meaning:             # `confidence`: --detector skeleton alone writes it
            continue
        word, _, shape = kind.partition(" ")
        for name in re.findall(r"`(\w+)`", names):
            doc[name] = (word, shape.count(",") + 1 if shape else None)
    return doc


def assert_documented(data, doc: dict) -> None:
    for name, (word, axes) in doc.items():
        assert name in data.files, f"docs/outputs.md names {name}; poses.npz lacks it"
        array = data[name]
        kinds, size = TYPES[word]
        assert array.dtype.kind in kinds and (size is None or array.dtype.itemsize == size), \
            f"{name}: docs/outputs.md says {word}, the file holds {array.dtype}"
        assert array.ndim == (axes or 0), f"{name}: docs/outputs.md gives {axes} axes, the file {array.shape}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """The first frames of the street video, keeping every person (default) and the main one."""
    if not STREET.is_file():
        pytest.skip(f"test video not found at {STREET} (see shared/data/README.md)")
    out = {}
    for choice, flags in (("all", ()), ("largest", ("--person", "largest"))):
        folder = tmp_path_factory.mktemp(choice)
        done = run_cli("video", str(STREET), "-o", str(folder), "--max-frames", str(FRAMES), *flags)
        assert done.returncode == 0, done.stderr[-2000:]
        out[choice] = folder / STREET.stem
    return out


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("choice", ["all", "largest"])
def test_the_files_are_those_the_doc_names(runs, choice):
    named = [re.search(r"`([^`]+)`", row[0]).group(1) for row in table(DOC.read_text().split("\n## ")[0])]
    assert named == ["overlay.mp4", "poses.npz", "poses.json", "poses.csv", "poses_<id>.bvh"]
    with np.load(runs[choice] / "poses.npz") as data:
        ids = data["person_ids"]
        doc = npz_doc()
        assert {"person_ids", "joints3d", "joints3d_world", "joints3d_raw", "joints2d", "visibility"} <= set(doc)
        assert_documented(data, doc)
        assert len(ids) >= 1 and data["joints3d"].shape == (FRAMES, len(ids), 17, 3)
        if choice == "largest":               # one person at most in every frame
            assert (np.isfinite(data["joints3d"]).all(axis=(2, 3)).sum(axis=1) <= 1).all()
    for name in named:
        for each in ([name.replace("<id>", str(i)) for i in ids] if "<id>" in name else [name]):
            assert (runs[choice] / each).is_file(), f"docs/outputs.md names {name}; the run did not write {each}"


@pytest.mark.data
def test_pandas_reads_poses_csv(runs):
    """The `analysis` extra's pandas reads poses.csv as docs/outputs.md says: `frame`, `time_s`,
    `person`, then 51 joint columns; one row per person and frame they are in."""
    import pandas as pd                        # the test extra brings it (realtime3d[analysis])
    people = pd.read_csv(runs["all"] / "poses.csv")
    assert list(people.columns[:6]) == ["frame", "time_s", "person", "pelvis_x", "pelvis_y", "pelvis_z"]
    assert people.shape[1] == 3 + 51 and people["pelvis_z"].dtype.kind == "f"
    with np.load(runs["all"] / "poses.npz") as data:
        assert set(people["person"]) <= set(data["person_ids"].tolist())
        present = np.isfinite(data["joints3d"][..., 0, 2])                              # [N, P]
    assert len(people) == int(present.sum())
    tracks = people.groupby("person")["pelvis_z"].mean()
    assert (tracks > 0).all()                                                          # in front of the camera
