"""docs/outputs.md against what a run writes: every file it names is written, and every array of
poses.npz has the type and shape it gives, in the one-person and the many-people layouts."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED, run_cli
from realtime3d.io.poses import PERSON_ARRAYS

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
    """The one-person poses.npz table: array name -> (type word, number of axes; None: a scalar)."""
    doc = {}
    for names, kind, meaning in table(section("## `poses.npz`")):
        if "only with" in meaning:             # `confidence`: --detector skeleton alone writes it
            continue
        word, _, shape = kind.partition(" ")
        for name in re.findall(r"`(\w+)`", names):
            doc[name] = (word, shape.count(",") + 1 if shape else None)
    return doc


def people_npz_doc() -> dict[str, tuple[str, int]]:
    """The many-people table's poses.npz cell: `a`, `b` float32 [N, P, 17, 3], `c` [N, P, 17, 2], ..."""
    cell = next(row[1] for row in table(section("## Many people")) if row[0] == "`poses.npz`")
    cell = re.sub(r"\([^)]*skeleton net\)", "", cell)   # `confidence`: --detector skeleton alone writes it
    doc, word = {}, None
    for names, kind, shape in re.findall(r"((?:`\w+`(?:, )?)+) (?:(\w+) )?\[([^\]]+)\]", cell):
        word = kind or word                    # `joints2d` [N, P, 17, 2] takes the type before it
        for name in re.findall(r"`(\w+)`", names):
            doc[name] = (word, shape.count(",") + 1)
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
    """The first frames of the street video, in the many-people layout (default) and the one-person one."""
    if not STREET.is_file():
        pytest.skip(f"test video not found at {STREET} (see shared/data/README.md)")
    out = {}
    for layout, flags in (("people", ()), ("one", ("--person", "largest"))):
        folder = tmp_path_factory.mktemp(layout)
        done = run_cli("video", str(STREET), "-o", str(folder), "--max-frames", str(FRAMES), *flags)
        assert done.returncode == 0, done.stderr[-2000:]
        out[layout] = folder / STREET.stem
    return out


def test_the_one_person_files_are_those_the_doc_names(runs):
    named = [re.search(r"`([^`]+)`", row[0]).group(1) for row in table(DOC.read_text().split("\n## ")[0])]
    assert named == ["overlay.mp4", "poses.npz", "poses.json", "poses.csv", "poses.bvh"]
    for name in named:
        assert (runs["one"] / name).is_file(), f"docs/outputs.md names {name}; the run did not write it"
    with np.load(runs["one"] / "poses.npz") as data:
        assert_documented(data, npz_doc())
        assert data["joints3d"].shape == (FRAMES, 17, 3)


def test_the_many_people_files_are_those_the_doc_names(runs):
    rows = table(section("## Many people"))
    assert [row[0] for row in rows] == ["`poses.npz`", "`poses.json`", "`poses.csv`", "`poses_<id>.bvh`"]
    with np.load(runs["people"] / "poses.npz") as data:
        ids = data["person_ids"]
        assert ids.dtype.kind in "iu" and ids.ndim == 1 and len(ids) >= 1
        people = people_npz_doc()
        assert {"joints3d", "joints3d_world", "joints3d_raw", "joints2d", "visibility"} <= set(people)
        assert_documented(data, people)
        assert data["joints3d"].shape[:2] == (FRAMES, len(ids))
        # the arrays without a person axis are as in the one-person table
        assert_documented(data, {k: v for k, v in npz_doc().items() if k not in PERSON_ARRAYS})
    for name in ("poses.npz", "poses.json", "poses.csv", *(f"poses_{i}.bvh" for i in ids)):
        assert (runs["people"] / name).is_file(), f"docs/outputs.md names {name}; the run did not write it"
    assert (runs["people"] / "overlay.mp4").is_file()


def test_pandas_reads_poses_csv(runs):
    """The `analysis` extra's pandas reads both layouts as docs/outputs.md says: 2 + 51 columns for
    one person, the `person` column after them for many people, NaN where nobody is."""
    import pandas as pd                        # the test extra brings it (realtime3d[analysis])
    one = pd.read_csv(runs["one"] / "poses.csv")
    assert list(one.columns[:5]) == ["frame", "time_s", "pelvis_x", "pelvis_y", "pelvis_z"]
    assert one.shape == (FRAMES, 2 + 51) and one["pelvis_z"].dtype.kind == "f"
    people = pd.read_csv(runs["people"] / "poses.csv")
    assert list(people.columns[:3]) == ["frame", "time_s", "person"] and people.shape[1] == 3 + 51
    with np.load(runs["people"] / "poses.npz") as data:
        assert set(people["person"]) <= set(data["person_ids"].tolist())
        present = np.isfinite(data["joints3d"][..., 0, 2])                              # [N, P]
    assert len(people) == int(present.sum())
    tracks = people.groupby("person")["pelvis_z"].mean()
    assert (tracks > 0).all()                                                          # in front of the camera
