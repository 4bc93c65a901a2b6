import numpy as np
import pytest
import tensorflow as tf

from kzoo.applications import Model2Vec, Task2Vec, TaskEmbedding, d_asym, d_sym
from kzoo.applications.task2vec.model2vec import soft_labels
from kzoo.applications.task2vec import PROBE_PRESET_REPLAY, distance_matrix
from tests.applications.test_task2vec_fisher import _conv_probe, _pattern_task


def _embedding(vector, trivial=None, probe="p", method="variational"):
    return TaskEmbedding(np.asarray(vector, "float32"), trivial, method=method, probe=probe)


def test_d_sym_hand_computed_symmetric_and_zero_on_itself():
    a, b = _embedding([1.0, 1.0]), _embedding([1.0, 3.0])
    # F_a/(F_a+F_b) = (0.5, 0.25), F_b/(F_a+F_b) = (0.5, 0.75)
    expected = 1 - (0.25 + 0.1875) / np.sqrt((0.25 + 0.0625) * (0.25 + 0.5625))
    assert d_sym(a, b) == pytest.approx(expected, abs=1e-7) == pytest.approx(d_sym(b, a), abs=1e-12)
    assert d_sym(a, a) == 0.0 and d_sym(b, _embedding([2.0, 6.0])) == pytest.approx(0.0, abs=1e-12)


def test_d_asym_brings_complex_sources_closer():
    trivial = np.ones(3, "float32")
    simple = _embedding([1.5, 1.2, 1.1], trivial)
    complex_ = _embedding([9.0, 4.0, 1.5], trivial)
    target = _embedding([3.0, 2.0, 1.2], trivial)
    assert d_asym(target, target) < 0 == d_sym(target, target)
    assert d_asym(simple, target, alpha=0.0) == pytest.approx(d_sym(simple, target))
    for source in (simple, complex_):
        assert d_asym(source, target) == pytest.approx(d_sym(source, target) - 0.15 * d_sym(source, _embedding(trivial, trivial)))
    gain = [d_sym(s, target) - d_asym(s, target) for s in (simple, complex_)]
    assert gain[1] > gain[0] > 0
    assert distance_matrix([simple, target], "asym")[0, 1] == pytest.approx(d_asym(simple, target))


def test_embeddings_of_different_probes_or_methods_are_not_compared():
    with pytest.raises(ValueError, match="same probe network.*'p'.*'q'"):
        d_sym(_embedding([1, 2]), _embedding([1, 2], probe="q"))
    with pytest.raises(ValueError, match="same method"):
        d_sym(_embedding([1, 2]), _embedding([1, 2], method="montecarlo"))


def test_embedding_save_load_round_trip(tmp_path):
    e = TaskEmbedding(np.arange(5, dtype="float32"), np.ones(5), method="montecarlo", probe="abc",
                      metadata={"name": "Greek", "images": 40})
    loaded = TaskEmbedding.load(e.save(tmp_path / "e.npz"))
    np.testing.assert_array_equal(loaded.vector, e.vector)
    np.testing.assert_array_equal(loaded.trivial, e.trivial)
    assert (loaded.method, loaded.probe, loaded.metadata) == ("montecarlo", "abc", e.metadata)
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(ValueError, match="bad.npz"):
        TaskEmbedding.load(tmp_path / "bad.npz")


def test_task2vec_is_deterministic_for_a_seed_and_takes_datasets():
    images, labels = _pattern_task()
    t2v = Task2Vec(_conv_probe(), method="montecarlo", skip_layers=1, max_samples=64, batch_size=32, head_epochs=2)
    a = t2v.embed((images, labels), seed=4)
    b = t2v.embed(tf.data.Dataset.from_tensor_slices((images, labels)).batch(10), seed=4)
    np.testing.assert_array_equal(a.vector, b.vector)
    assert a.vector.shape == (t2v.fisher.num_filters,) and a.metadata["classes"] == 4
    assert not np.array_equal(a.vector, t2v.embed((images, labels), seed=5).vector)
    domain = t2v.domain_embedding((images, labels))
    assert domain.method == "domain" and domain.vector.shape == (7,)
    other = Task2Vec(_conv_probe(seed=1), method="montecarlo", skip_layers=1, max_samples=32, head_epochs=1)
    with pytest.raises(ValueError, match="same probe"):
        d_sym(a, other.embed((images, labels)))
    with pytest.raises(ValueError, match="at least 2 classes"):
        t2v.embed(tf.data.Dataset.from_tensor_slices((images, np.zeros_like(labels))))
    with pytest.raises(ValueError, match="match the probe's input"):
        t2v.embed((np.zeros((8, 28, 28, 1)), np.arange(8) % 2))


def test_model2vec_learns_the_known_best_expert_on_a_synthetic_error_matrix():
    rng = np.random.RandomState(0)
    tasks = [_embedding(rng.rand(16) + 0.05) for _ in range(6)]
    experts = [_embedding(rng.rand(16) + 0.05) for _ in range(5)]
    errors = rng.uniform(0.4, 0.6, (6, 5))
    errors[:, 3] = 0.2  # expert 3 is best for every task, though not the nearest to them
    nearest = [int(np.argmin([d_asym(e, t) for e in experts])) for t in tasks]
    assert np.mean(np.array(nearest) == 3) < 0.5
    chosen = Model2Vec.leave_one_out(experts, tasks, errors)
    assert np.all(chosen == 3), chosen
    mask = np.ones_like(errors, bool)
    mask[:, 3] = False
    assert Model2Vec(experts).fit(tasks, errors, mask).select_expert(tasks[0], exclude=[3]) != 3
    np.testing.assert_allclose(soft_labels([[0.1, 0.5, 0.9]], alpha=20).argmax(), 0)
    with pytest.raises(ValueError, match="tasks x experts"):
        Model2Vec(experts).fit(tasks, errors[:, :4])


def test_task_plots_are_written(tmp_path):
    from kzoo.applications.task2vec.plots import plot_distance_matrix, plot_embedding_2d

    rng = np.random.RandomState(0)
    embeddings = [_embedding(rng.rand(8) + 0.1) for _ in range(5)]
    distances = distance_matrix(embeddings)
    order = plot_distance_matrix(distances, list("abcde"), tmp_path / "m.png", groups=list("xxyyz"))
    points = plot_embedding_2d(distances, list("abcde"), tmp_path / "p.png", groups=list("xxyyz"))
    assert sorted(order) == list(range(5)) and points.shape == (5, 2)
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "p.png").stat().st_size > 1000


def test_probe_preset_reproduces_its_recorded_validation_accuracy():
    from kzoo import episodes
    from kzoo.applications.task2vec import load_probe_preset
    from kzoo.applications.task2vec.probe import glyph_probe_split

    if "probe_glyphs_resnet" not in Task2Vec.presets:
        pytest.skip("probe preset not built")
    probe, meta = load_probe_preset("probe_glyphs_resnet")
    source = episodes.glyphs()
    assert repr(source) == meta["data"]["source"]
    _, _, x_val, y_val, classes = glyph_probe_split(source, held_out=meta["data"]["held_out_scripts"])
    n = PROBE_PRESET_REPLAY["images"]
    accuracy = np.mean(np.argmax(probe.predict(x_val[:n], batch_size=250, verbose=0), -1) == y_val[:n])
    assert abs(accuracy - meta["evaluation"]["replay"]["accuracy"]) <= 0.003
    assert meta["evaluation"]["validation_accuracy"] > 0.5 and len(classes) == meta["data"]["classes"]
    t2v = Task2Vec.from_preset("probe_glyphs_resnet", method="montecarlo")
    assert t2v.fisher.num_filters == 672 and t2v.preset_metadata["application"] == "Task2Vec"
    with pytest.raises(ValueError, match="Unknown preset for Task2Vec"):
        Task2Vec.from_preset("nope")
