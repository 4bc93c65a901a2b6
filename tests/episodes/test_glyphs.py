"""Tests of `glyphs`, the built-in dataset of characters rendered from font files."""

import doctest
import os
import unicodedata

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import ImageFont

from kzoo.episodes import glyph_source as glyphs_module
from kzoo.episodes import glyphs

FONT_DIR = os.path.dirname(glyphs_module._check_fonts(None)[0])
SERIF = os.path.join(FONT_DIR, "DejaVuSerif.ttf")


@pytest.fixture(scope="module")
def greek(tmp_path_factory):
    return glyphs(scripts=["Greek"], examples_per_class=5, cache_dir=tmp_path_factory.mktemp("cache"))


def test_images_are_uint8_ink_on_black_and_never_empty(greek):
    assert greek.images.dtype == np.uint8
    assert greek.images.shape == (greek.num_classes * 5, 28, 28, 1)
    assert greek.images.reshape(len(greek.images), -1).max(axis=1).min() > 128  # every image has ink
    assert (greek.images == 0).mean() > 0.5  # background is 0
    assert greek.alphabet_names == ["Greek"]
    assert all(len(name) == 1 and "GREEK" in unicodedata.name(name) for name in greek.class_names)


def test_lookalikes_keep_only_the_lowest_code_point(tmp_path):
    src = glyphs(scripts=["Latin", "Greek", "Cyrillic"], examples_per_class=1, cache_dir=tmp_path)
    names = set(src.class_names)
    assert {"A", "B", "o", "x"} <= names
    assert not {"\u0391", "\u0410", "\u03bf", "\u043e", "\u0445"} & names  # Greek Alpha, Cyrillic A, o, o, ha
    assert {"\u03bb", "\u03c8", "\u0436", "\u042f"} <= names  # lambda, psi, zhe, ya have no Latin twin
    # Alone, Greek keeps its Alpha: duplicates are only removed among the selected characters.
    assert "\u0391" in glyphs(characters="\u0391", examples_per_class=1, cache_dir=tmp_path).class_names


def test_distinct_classes_render_distinctly_in_every_font(greek):
    paths = glyphs_module._check_fonts(None)
    codes = [ord(c) for c in greek.class_names]
    for path in paths:
        font = ImageFont.truetype(path, 64)
        renders = glyphs_module._clean_renders(font, glyphs_module._usable_cmap(path), codes, 64, 28)
        if len(renders) < 2:
            continue
        x = np.stack([r.ravel() for r in renders.values()])
        rms = np.sqrt(np.maximum(((x[:, None] - x[None]) ** 2).mean(-1), 0))
        np.fill_diagonal(rms, 1.0)
        assert rms.min() >= glyphs_module._DUPLICATE_RMS, os.path.basename(path)


def test_never_a_missing_glyph_box(greek, tmp_path):
    serif = ImageFont.truetype(SERIF, 64)
    box = glyphs_module._render(serif, "\u0378", 64, 28)  # an unassigned code point
    assert box is not None and box.max() > 0  # DejaVu draws .notdef as a box: the check has teeth
    cmap = TTFont(SERIF).getBestCmap()
    for name in greek.class_names:
        if ord(name) in cmap:
            assert not np.array_equal(glyphs_module._render(serif, name, 64, 28), box)
    for path in glyphs_module._check_fonts(None):  # every drawn class is in the font's cmap
        codes = [ord(c) for c in greek.class_names]
        font = ImageFont.truetype(path, 64)
        drawn = glyphs_module._clean_renders(font, glyphs_module._usable_cmap(path), codes, 64, 28)
        assert set(drawn) <= set(TTFont(path).getBestCmap())
    with pytest.raises(ValueError, match="U\\+0378"):
        glyphs(characters=["a", "\u0378"], fonts=[SERIF], cache_dir=tmp_path)


def test_last_resort_font_is_refused(tmp_path):
    last_resort = os.path.join(FONT_DIR, "LastResortHE-Regular.ttf")
    if not os.path.exists(last_resort):
        pytest.skip("matplotlib without LastResortHE-Regular.ttf")
    with pytest.raises(ValueError, match="LastResortHE-Regular.ttf.*last resort"):
        glyphs(fonts=[last_resort], scripts=["Latin"], cache_dir=tmp_path)


def test_keeps_relative_size_lowercase_o_smaller_than_capital():
    font = ImageFont.truetype(os.path.join(FONT_DIR, "DejaVuSans.ttf"), 64)
    heights = {c: np.flatnonzero(glyphs_module._render(font, c, 64, 28).max(axis=1) > 64).size for c in "oO"}
    assert heights["o"] < 0.85 * heights["O"]


def test_same_seed_is_bit_identical_and_other_seed_differs(tmp_path):
    kwargs = dict(scripts=["Coptic"], examples_per_class=6)
    a = glyphs(seed=3, cache_dir=tmp_path / "a", **kwargs)
    b = glyphs(seed=3, cache_dir=tmp_path / "b", **kwargs)
    c = glyphs(seed=4, cache_dir=tmp_path / "c", **kwargs)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.class_names == c.class_names
    assert (a.images != c.images).any(axis=(1, 2, 3)).mean() > 0.9


def test_a_class_does_not_depend_on_the_other_classes(tmp_path):
    few = glyphs(characters="\u03b1\u03b2", examples_per_class=4, cache_dir=tmp_path)
    many = glyphs(scripts=["Greek"], examples_per_class=4, cache_dir=tmp_path)
    np.testing.assert_array_equal(few.images_of(0), many.images_of(many.class_names.index("\u03b1")))


def test_cache_hit_is_identical_and_corrupt_cache_is_rendered_again(tmp_path, monkeypatch):
    kwargs = dict(scripts=["Ogham"], examples_per_class=3, cache_dir=tmp_path)
    first = glyphs(**kwargs)
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].endswith(".npz")  # no temporary file left over
    build = glyphs_module._build
    monkeypatch.setattr(glyphs_module, "_build", lambda *a, **k: pytest.fail("cache missed"))
    second = glyphs(**kwargs)
    np.testing.assert_array_equal(first.images, second.images)
    assert first.class_names == second.class_names and first.alphabets == second.alphabets
    (tmp_path / files[0]).write_bytes(b"not a zip file")
    monkeypatch.setattr(glyphs_module, "_build", build)
    with pytest.warns(UserWarning, match="unreadable"):
        third = glyphs(**kwargs)
    np.testing.assert_array_equal(first.images, third.images)
    assert os.listdir(tmp_path) == files
    glyphs(**kwargs, seed=1)  # other arguments, other file
    assert len(os.listdir(tmp_path)) == 2


def test_user_fonts_and_characters(tmp_path):
    src = glyphs(fonts=[SERIF], scripts=["Greek"], examples_per_class=2, max_classes=12, cache_dir=tmp_path)
    assert src.num_classes == 12 and src.alphabet_names == ["Greek"]
    chosen = glyphs(characters="xyz", fonts=[SERIF], examples_per_class=2, cache_dir=tmp_path)
    assert chosen.class_names == ["x", "y", "z"] and chosen.alphabets == ["Latin"] * 3
    with pytest.raises(ValueError, match="U\\+4E00 CJK UNIFIED IDEOGRAPH-4E00.*DejaVuSerif.ttf"):
        glyphs(characters="a\u4e00", fonts=[SERIF], cache_dir=tmp_path)


def test_bad_arguments_name_themselves(tmp_path):
    missing = str(tmp_path / "NoSuchFont.ttf")
    with pytest.raises(ValueError, match="NoSuchFont.ttf"):
        glyphs(fonts=[missing], cache_dir=tmp_path)
    (tmp_path / "Broken.ttf").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="Broken.ttf"):
        glyphs(fonts=[str(tmp_path / "Broken.ttf")], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="`scripts`.*Greek"):
        glyphs(scripts=["Klingon"], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="image_size"):
        glyphs(image_size=0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="characters"):
        glyphs(characters=["ab"], cache_dir=tmp_path)


def test_docstring_example_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("KZOO_CACHE", str(tmp_path))
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(glyphs, "glyphs", globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


@pytest.mark.slow
def test_default_set_has_thousands_of_classes_in_many_scripts(tmp_path):
    src = glyphs(cache_dir=tmp_path)
    assert src.num_classes >= 2000
    assert len(src.alphabet_names) >= 10
    assert src.images.shape == (src.num_classes * 20, 28, 28, 1)
    assert len(set(src.class_names)) == src.num_classes
