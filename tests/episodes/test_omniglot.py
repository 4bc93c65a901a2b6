import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kzoo.episodes import omniglot

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "omniglot"
SMALL = [DATA / "images_background_small1.zip", DATA / "images_background_small2.zip"]
# Characters per alphabet in the two zips; Greek and Latin are in both.
ALPHABETS = {"Balinese": 24, "Early_Aramaic": 22, "Greek": 24, "Korean": 40, "Latin": 26,
             "Japanese_(katakana)": 47, "Sanskrit": 42, "Tagalog": 17}


def _drawing(k):
    """A 105x105 1-bit drawing: white paper, a black 30x30 square at row 0, col 15*k."""
    paper = np.ones((105, 105), bool)
    paper[:30, 15 * k : 15 * k + 30] = False
    buffer = io.BytesIO()
    Image.fromarray(paper).save(buffer, format="PNG")
    return buffer.getvalue()


def _members(top, alphabets, drawings=3):
    """Official layout: `<top>/<Alphabet>/characterNN/<id>_<drawer>.png`."""
    return {
        f"{top}/{alphabet}/character{c + 1:02d}/{1000 + c:04d}_{d + 1:02d}.png": _drawing(d)
        for alphabet, characters in alphabets.items()
        for c in range(characters)
        for d in range(drawings)
    }


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _write_folder(root, members):
    for name, data in members.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def real():
    if not all(p.is_file() for p in SMALL):
        pytest.skip(f"the Omniglot background-small zips are not in {DATA}")
    return omniglot(DATA)


def test_real_union_counts_every_character_once(real):
    # The alphabets' sizes sum to 242 (README's union row says 241: 136 + 156 - 50 = 242).
    assert real.num_classes == sum(ALPHABETS.values()) == 242
    assert real.alphabet_names == sorted(ALPHABETS)
    assert {a: real.alphabets.count(a) for a in ALPHABETS} == ALPHABETS
    assert real.class_counts.tolist() == [20] * 242
    assert real.images.shape == (4840, 28, 28, 1) and real.images.dtype == np.uint8
    assert len(set(real.class_names)) == 242 and "Greek/character01" in real.class_names


def test_real_greek_matches_either_zip(real):
    small1 = omniglot(SMALL[0])
    assert (small1.num_classes, small1.num_images) == (136, 2720)
    greek = [i for i, a in enumerate(real.alphabets) if a == "Greek"]
    greek1 = [i for i, a in enumerate(small1.alphabets) if a == "Greek"]
    np.testing.assert_array_equal(
        np.concatenate([real.images_of(c) for c in greek]),
        np.concatenate([small1.images_of(c) for c in greek1]),
    )


def test_real_ink_is_high_on_a_zero_background(real):
    assert real.images.mean() < 40  # mostly background 0
    assert np.median(real.images) == 0 and real.images.max() == 255
    assert np.all(real.images.reshape(4840, -1).max(axis=1) > 128)  # every drawing has ink


def test_real_image_size_and_cached_reload(real):
    start = time.perf_counter()
    again = omniglot(DATA)
    assert time.perf_counter() - start < 0.5
    again.images[:] = 0  # a fresh copy: the cache is not touched
    assert omniglot(DATA).images.max() == 255
    assert omniglot(DATA, image_size=(32, 32)).images.shape == (4840, 32, 32, 1)


def test_overlapping_zips_count_a_character_once(tmp_path):
    zips = {"small1": {"Greek": 2, "Korean": 1}, "small2": {"Greek": 2, "Tagalog": 3}}
    for name, alphabets in zips.items():
        top = f"images_background_{name}"
        _write_zip(tmp_path / f"{top}.zip", _members(top, alphabets))
    (tmp_path / "unrelated.zip").write_bytes(b"not read")
    src = omniglot(tmp_path)
    assert src.class_names == ["Greek/character01", "Greek/character02", "Korean/character01",
                               "Tagalog/character01", "Tagalog/character02", "Tagalog/character03"]
    assert src.alphabets == ["Greek", "Greek", "Korean", "Tagalog", "Tagalog", "Tagalog"]
    assert src.class_counts.tolist() == [3] * 6


def test_ink_is_255_exactly_where_the_square_was(tmp_path):
    # 105 / 28 = 3.75, so the 30x30 square at (0, 15k) covers output rows 0-7, cols 4k-4k+7.
    src = omniglot(_write_zip(tmp_path / "one.zip", _members("top", {"Latin": 1})))
    expected = np.zeros((3, 28, 28), np.uint8)
    for k in range(3):
        expected[k, :8, 4 * k : 4 * k + 8] = 255
    np.testing.assert_array_equal(src.images[..., 0], expected)


@pytest.mark.parametrize("top", ["images_background", None])
def test_unpacked_folder_matches_the_zip(tmp_path, top):
    members = _members("images_background", {"Greek": 2, "Latin": 1})
    zipped = omniglot(_write_zip(tmp_path / "images_background.zip", members))
    if top is None:
        members = {name.split("/", 1)[1]: data for name, data in members.items()}
    unpacked = omniglot(_write_folder(tmp_path / "unpacked", members), image_size=28)
    assert unpacked.class_names == zipped.class_names
    np.testing.assert_array_equal(unpacked.images, zipped.images)


def test_corrupt_png_member_is_named(tmp_path):
    members = _members("images_evaluation", {"Greek": 1})
    members["images_evaluation/Greek/character01/1000_02.png"] = b"\x89PNG\r\n\x1a\n broken"
    _write_zip(tmp_path / "images_evaluation.zip", members)
    with pytest.raises(ValueError, match=r"Greek/character01/1000_02\.png.*images_evaluation\.zip"):
        omniglot(tmp_path)


def test_corrupt_zip_is_named(tmp_path):
    (tmp_path / "images_background.zip").write_bytes(b"PK not a zip")
    with pytest.raises(ValueError, match="images_background.zip"):
        omniglot(tmp_path)


def test_missing_path_names_it_and_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*images_background"):
        omniglot(tmp_path / "nowhere")


def test_folder_without_omniglot_data_raises(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(ValueError, match="no Omniglot images"):
        omniglot(tmp_path)


def test_changed_zip_is_reloaded(tmp_path):
    path = tmp_path / "images_background.zip"
    assert omniglot(_write_zip(path, _members("t", {"Greek": 1}))).num_classes == 1
    assert omniglot(_write_zip(path, _members("t", {"Greek": 2, "Latin": 1}))).num_classes == 3
