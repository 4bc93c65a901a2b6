import numpy as np
import pytest

from kzoo import zsl
from kzoo.episodes.glyph_source import _check_fonts
from kzoo.zsl import backbone, compositional

SMALL = dict(image_size=16, examples_per_class=5, scripts=["Latin"], bases="aeouAEOU", backbone_channels=4,
             backbone_epochs=1, verbose=0)


@pytest.fixture(scope="module")
def font():
    return _check_fonts(None)[0]  # DejaVuSans.ttf


@pytest.fixture(scope="module")
def small(tmp_path_factory, font):
    return zsl.glyph_compositions(fonts=[font], cache_dir=tmp_path_factory.mktemp("cache"), **SMALL)


def test_small_set_shapes(small):
    n = small.labels.size
    assert small.images.shape == (n, 16, 16, 1) and small.images.dtype == np.uint8
    assert small.features.shape == (n, 4) and small.features.dtype == np.float32
    assert small.attributes.shape == (small.num_classes, len(small.attribute_names))
    assert set(small.class_names[:8]) == set("aeouAEOU")  # plain base letters come first
    assert n == 5 * small.num_classes
    assert sorted(np.concatenate([small.trainval_loc, small.test_seen_loc, small.test_unseen_loc])) == list(range(n))


def test_attributes_follow_the_unicode_decomposition(small):
    row = dict(zip(small.attribute_names, small.attributes[small.class_names.index("Ö")]))
    on = sorted(k for k, v in row.items() if v)
    assert on == ["base:o", "case:upper", "mark:diaeresis", "script:Latin"]
    k = small.class_names.index("ǟ")  # a + diaeresis + macron
    assert sorted(n for n, v in zip(small.attribute_names, small.attributes[k]) if v) == [
        "base:a", "case:lower", "mark:diaeresis", "mark:macron", "script:Latin"]
    assert small.extra["pair_attribute_names"][small.extra["pair_attribute"][k]] == "diaeresis+macron"
    assert small.extra["object_names"][small.extra["pair_object"][k]] == "a"


def test_split_has_no_unseen_class_in_training_and_covers_every_unseen_attribute(small):
    train_classes = set(small.labels[small.trainval_loc].tolist())
    unseen = small.unseen_classes
    assert unseen.size >= 3 and not train_classes & set(unseen.tolist())
    assert set(small.labels[small.test_seen_loc].tolist()) == train_classes == set(small.seen_classes.tolist())
    seen_att = small.attributes[small.seen_classes]
    seen_rows = {r.tobytes() for r in seen_att}
    combos, objects = small.extra["pair_attribute"], small.extra["pair_object"]
    for c in unseen:
        assert np.all(seen_att[:, small.attributes[c] > 0].max(0) == 1)  # each attribute carried by a seen class
        assert small.attributes[c].tobytes() not in seen_rows  # the combination is new
        assert combos[c] in combos[small.seen_classes] and objects[c] in objects[small.seen_classes]
        pairs = set(zip(combos[small.seen_classes], objects[small.seen_classes]))
        assert (combos[c], objects[c]) not in pairs


def test_second_call_loads_the_cache_and_a_rebuild_is_identical(small, font, tmp_path):
    again = zsl.glyph_compositions(fonts=[font], cache_dir=tmp_path, **SMALL)
    np.testing.assert_array_equal(again.images, small.images)
    np.testing.assert_array_equal(again.features, small.features)  # backbone deterministic for the seed
    np.testing.assert_array_equal(again.test_unseen_loc, small.test_unseen_loc)


def test_split_depends_on_the_seed(small):
    table = compositional._attribute_table(small.class_names)
    assert sorted(compositional._split_classes(table, 0.25, 0)) == small.unseen_classes.tolist()
    assert compositional._split_classes(table, 0.25, 1) != compositional._split_classes(table, 0.25, 0)


def test_composition_tasks_and_statistics(small):
    onehot = zsl.composition_tasks(small, "onehot")
    assert onehot.shape == (small.num_classes, len(small.extra["pair_attribute_names"]) + 8)
    np.testing.assert_array_equal(onehot.sum(1), 2)
    assert zsl.composition_tasks(small, "attributes") is small.attributes
    table = zsl.statistics_table(small)
    assert f"| {small.num_classes} | {small.seen_classes.size} | {small.unseen_classes.size} |" in table
    with pytest.raises(ValueError, match="kind"):
        zsl.composition_tasks(small, "word2vec")


def test_bad_arguments(font):
    with pytest.raises(ValueError, match="unseen_fraction"):
        zsl.glyph_compositions(unseen_fraction=1.5)
    with pytest.raises(ValueError, match="bases"):
        zsl.glyph_compositions(bases=["a"])
    with pytest.raises(ValueError, match="No precomposed letters"):
        zsl.glyph_compositions(fonts=[font], scripts=["Latin"], bases="q", verbose=0)


def test_a_saved_backbone_gives_the_same_features_without_training(small, font, tmp_path):
    data_args = {k: v for k, v in SMALL.items() if k != "verbose"}
    folder = zsl.save_glyph_backbone(tmp_path / "backbone", fonts=[font], **data_args)
    assert sorted(p.name for p in folder.iterdir()) == ["backbone.weights.h5", "metadata.json"]
    loaded = zsl.glyph_compositions(fonts=[font], cache_dir=tmp_path / "cache", backbone_weights=folder, **SMALL)
    # the same seeded training as the fixture's build, so the same weights and features
    np.testing.assert_allclose(loaded.features, small.features, rtol=1e-5, atol=1e-6)
    report = loaded.extra["backbone"]
    assert len(report["weights_sha256"]) == 64 and report["weights"].endswith("backbone.weights.h5")
    assert report["test_seen_accuracy"] == pytest.approx(small.extra["backbone"]["test_seen_accuracy"])
    # the loaded backbone is not trained again: features do not depend on the epochs run here
    with pytest.raises(ValueError, match="backbone_epochs|epochs=1"):
        zsl.glyph_compositions(fonts=[font], cache_dir=tmp_path / "cache", backbone_weights=folder,
                               **{**SMALL, "backbone_epochs": 2})


def test_backbone_weights_bad_input(font, tmp_path):
    with pytest.raises(FileNotFoundError, match="backbone_weights"):
        zsl.glyph_compositions(fonts=[font], cache_dir=tmp_path, backbone_weights=tmp_path / "missing", **SMALL)
    with pytest.raises(ValueError, match="verbose|Received: colour"):
        zsl.save_glyph_backbone(tmp_path / "b", colour="red")
    # "auto" with arguments no shipped backbone was trained for trains one (SMALL is such a case)
    args, _ = compositional._data_arguments(16, 5, 0.25, 0.2, ["Latin"], "aeouAEOU", [font], 2, 4, 1, 0)
    assert backbone.backbone_folder("auto", args) is None
