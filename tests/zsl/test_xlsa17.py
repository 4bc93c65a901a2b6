import numpy as np
import pytest
from scipy import io

from kzoo import zsl


def _write(folder, features, labels, att, trainval, test_seen, test_unseen, names=None):
    """Writes res101.mat / att_splits.mat exactly as the Xian et al. release lays them out."""
    folder.mkdir(parents=True, exist_ok=True)
    io.savemat(folder / "res101.mat", {"features": features, "labels": labels[:, None].astype(float),
                                       "image_files": np.array([[f"img{i}.jpg"] for i in range(len(labels))],
                                                               dtype=object)})
    split = {"att": att, "original_att": att * 100, "trainval_loc": np.asarray(trainval, float)[:, None],
             "test_seen_loc": np.asarray(test_seen, float)[:, None],
             "test_unseen_loc": np.asarray(test_unseen, float)[:, None],
             "train_loc": np.asarray(trainval[:2], float)[:, None], "val_loc": np.asarray(trainval[2:], float)[:, None]}
    if names is not None:
        cell = np.empty((len(names), 1), dtype=object)
        cell[:, 0] = names
        split["allclasses_names"] = cell
    io.savemat(folder / "att_splits.mat", split)
    return folder


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(16, 8))  # D = 16 (2048 in the release), N = 8 images, one per column
    labels = np.array([1, 1, 2, 2, 3, 3, 1, 2])  # 1-based classes: 1, 2 seen, 3 unseen
    att = rng.uniform(size=(5, 3))  # A = 5 attributes x C = 3 classes
    folder = _write(tmp_path / "TOY", features, labels, att, [1, 3, 4], [2, 7, 8], [5, 6],
                    names=["antelope", "bat", "cat"])
    return folder, features, labels, att


def test_reads_the_benchmark_schema_as_zero_based(files):
    folder, features, labels, att = files
    data = zsl.load_xlsa17(folder)
    np.testing.assert_allclose(data.features, features.T, rtol=1e-6)
    np.testing.assert_array_equal(data.labels, labels - 1)
    np.testing.assert_allclose(data.attributes, att.T, rtol=1e-6)
    np.testing.assert_array_equal(data.trainval_loc, [0, 2, 3])
    np.testing.assert_array_equal(data.test_seen_loc, [1, 6, 7])
    np.testing.assert_array_equal(data.test_unseen_loc, [4, 5])
    np.testing.assert_array_equal(data.extra["val_loc"], [3])
    assert data.class_names == ["antelope", "bat", "cat"]
    assert data.seen_classes.tolist() == [0, 1] and data.unseen_classes.tolist() == [2]
    x, y = data.split("test_unseen")
    assert x.shape == (2, 16) and y.tolist() == [2, 2]
    assert data.statistics()["Y unseen"] == 1 and data.name == "TOY"


def test_save_then_load_round_trip(files, tmp_path):
    data = zsl.load_xlsa17(files[0])
    again = zsl.load_xlsa17(zsl.save_xlsa17(data, tmp_path / "copy"), name="TOY")
    for key in ("features", "labels", "attributes", "trainval_loc", "test_seen_loc", "test_unseen_loc"):
        np.testing.assert_array_equal(getattr(again, key), getattr(data, key))
    assert again.class_names == data.class_names
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["att_splits.mat", "res101.mat"]


def test_zero_based_labels_are_detected(files, tmp_path):
    _, features, labels, att = files
    folder = _write(tmp_path / "bad", features, labels - 1, att, [1, 3, 4], [2, 7, 8], [5, 6])
    with pytest.raises(ValueError, match="1-based `labels` in res101.mat.*looks 0-based"):
        zsl.load_xlsa17(folder)


def test_zero_based_split_indices_are_detected(files, tmp_path):
    _, features, labels, att = files
    folder = _write(tmp_path / "bad", features, labels, att, [0, 2, 3], [1, 6, 7], [4, 5])
    with pytest.raises(ValueError, match="1-based `trainval_loc` in att_splits.mat.*looks 0-based"):
        zsl.load_xlsa17(folder)


def test_index_past_the_images_is_detected(files, tmp_path):
    _, features, labels, att = files
    folder = _write(tmp_path / "bad", features, labels, att, [1, 3, 4], [2, 7, 9], [5, 6])
    with pytest.raises(ValueError, match=r"`test_seen_loc` in att_splits.mat in 1..8.*9"):
        zsl.load_xlsa17(folder)


def test_transposed_attribute_matrix_is_detected(files, tmp_path):
    _, features, labels, att = files
    folder = _write(tmp_path / "bad", features, labels, att.T, [1, 3, 4], [2, 7, 8], [5, 6])
    with pytest.raises(ValueError, match=r"num_classes = 3.*att.shape=\(3, 5\).*transposed"):
        zsl.load_xlsa17(folder)


def test_attribute_rows_not_matching_classes(files, tmp_path):
    _, features, labels, att = files
    folder = _write(tmp_path / "bad", features, labels, att[:, :2], [1, 3, 4], [2, 7, 8], [5, 6])
    with pytest.raises(ValueError, match=r"num_classes = 3.*att.shape=\(5, 2\)"):
        zsl.load_xlsa17(folder)


def test_unseen_class_in_training_data_is_refused(files, tmp_path):
    _, features, labels, att = files
    folder = _write(tmp_path / "bad", features, labels, att, [1, 3, 5], [2, 7, 8], [6],
                    names=["antelope", "bat", "cat"])
    with pytest.raises(ValueError, match=r"no unseen class in the training data.*\['cat'\]"):
        zsl.load_xlsa17(folder)


def test_missing_file_and_variable(files, tmp_path):
    with pytest.raises(ValueError, match="res101.mat"):
        zsl.load_xlsa17(tmp_path)
    folder = files[0]
    io.savemat(folder / "att_splits.mat", {"att": files[3]})
    with pytest.raises(ValueError, match="`trainval_loc` in att_splits.mat"):
        zsl.load_xlsa17(folder)
