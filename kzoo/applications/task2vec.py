"""Task2Vec (Achille et al., ICCV 2019): task embeddings from the Fisher information of a probe."""

import json
from pathlib import Path

import numpy as np

from kzoo.files import atomic_path
from kzoo.presets import list_presets, load_preset_model, presets_root, read_metadata, resolve_preset, write_preset

PRESET_FOLDER = "task2vec"
#: the probe preset's recorded score is replayed on the first `images` validation images
PROBE_PRESET_REPLAY = {"images": 1000, "note": "first 1000 validation images of glyph_probe_split"}


def save_probe_preset(probe, folder, metadata=None, overwrite=False):
    """Writes a probe network as a preset folder (config.json, model.weights.h5, metadata.json), atomically."""
    return write_preset(probe, folder, "Task2Vec", metadata, overwrite)


def probe_presets():
    """`{name: metadata}` of the built-in probe presets in `saved_models/task2vec/`."""
    return list_presets(presets_root() / PRESET_FOLDER)


def load_probe_preset(preset):
    """Loads a probe network from a built-in preset name or a preset folder.

    Returns:
        `(probe, metadata)`: the functional model with its trained weights, and its metadata.
    """
    folder = resolve_preset(preset, probe_presets(), presets_root() / PRESET_FOLDER, "Task2Vec")
    return load_preset_model(folder), read_metadata(folder)


# ------------------------------------------------------------------ embeddings
class TaskEmbedding:
    """A Task2Vec embedding: one value per probe filter, with what produced it.

    Attributes:
        vector: float32 `[num_filters]`, the per-filter Fisher information (Monte
            Carlo, expected) or learned precision (variational); the mean probe activations
            for `method="domain"`.
        trivial: float32 `[num_filters]`, the trivial embedding t0 of Sect. 3.1 (the
            prior lambda^2 for variational; zeros for the others).
        method: `"montecarlo"`, `"expected"`, `"variational"` or `"domain"`.
        probe: a fingerprint of the probe (name, layers, filters and a hash of the
            weights): embeddings of different probes cannot be compared.
        metadata: dict (task name, images, classes, seed, head accuracy, layers...).
    """

    def __init__(self, vector, trivial=None, method="variational", probe="", metadata=None):
        self.vector = np.asarray(vector, np.float32)
        if self.vector.ndim != 1:
            raise ValueError(f"Expected a 1-D `vector`. Received: shape {self.vector.shape}.")
        self.trivial = np.zeros_like(self.vector) if trivial is None else np.asarray(trivial, np.float32)
        if self.trivial.shape != self.vector.shape:
            raise ValueError(
                f"Expected `trivial` of shape {self.vector.shape}. Received: shape {self.trivial.shape}.")
        self.method = method
        self.probe = probe
        self.metadata = dict(metadata or {})

    @property
    def name(self):
        return self.metadata.get("name", "")

    def __repr__(self):
        return (f"<TaskEmbedding {self.name!r}: {self.method}, {self.vector.size} filters, "
                f"L1 norm {float(np.abs(self.vector).sum()):.4g}>")

    def save(self, path):
        """Writes the embedding to a `.npz` file (atomically)."""
        path = Path(path)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, vector=self.vector, trivial=self.trivial, method=self.method, probe=self.probe,
                     metadata=json.dumps(self.metadata))
        return path

    @classmethod
    def load(cls, path):
        """Reads an embedding written by `save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["vector"], data["trivial"], method=str(data["method"]), probe=str(data["probe"]),
                           metadata=json.loads(str(data["metadata"])))
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"Expected a TaskEmbedding .npz file. Received: {str(path)!r} ({error}).") from error


def _check_comparable(a, b):
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, TaskEmbedding):
            raise ValueError(f"Expected `{name}` to be a TaskEmbedding. Received: {type(value).__name__}.")  # noqa: TRY004 (kzoo raises ValueError for bad input)
    if a.probe != b.probe or a.vector.shape != b.vector.shape:
        raise ValueError(
            "Expected embeddings computed on the same probe network. Received: "
            f"{a.name or 'a'!r} from probe {a.probe!r} and {b.name or 'b'!r} from probe {b.probe!r}."
        )
    if a.method != b.method:
        raise ValueError(f"Expected embeddings of the same method. Received: {a.method!r} and {b.method!r}.")


def _cosine_distance(u, v):
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0.0 or nv == 0.0:
        return 1.0
    if np.array_equal(u, v):
        return 0.0
    return float(max(0.0, 1.0 - np.dot(u, v) / (nu * nv)))


def _sym(fa, fb):
    total = fa + fb
    total = np.where(total > 0, total, 1.0)
    return _cosine_distance(fa / total, fb / total)


def d_sym(a, b):
    """The symmetric Task2Vec distance (Sect. 3.3).

    d_sym(F_a, F_b) = d_cos(F_a / (F_a + F_b), F_b / (F_a + F_b)), element-wise
    division, d_cos the cosine distance (a zero vector is at distance 1).

    Args:
        a, b: `TaskEmbedding`s of the same probe and method.

    Returns:
        A float in [0, 2]; 0 iff the embeddings are proportional.
    """
    _check_comparable(a, b)
    return _sym(a.vector.astype(np.float64), b.vector.astype(np.float64))


def d_asym(a, b, alpha=0.15):
    """The asymmetric Task2Vec "distance" a -> b (Sect. 3.3): transfer from task a to task b.

    d_asym(t_a -> t_b) = d_sym(t_a, t_b) - alpha * d_sym(t_a, t_0), where t_0 is the
    trivial embedding of a: the more complex the source task a (the farther from
    t_0), the smaller the score, so complex source tasks (models) come closer.

    Args:
        a: the source task (e.g. the task an expert was trained on).
        b: the target task.
        alpha: the complexity weight. Defaults to `0.15` (the paper's).
    """
    _check_comparable(a, b)
    fa = a.vector.astype(np.float64)
    return _sym(fa, b.vector.astype(np.float64)) - alpha * _sym(fa, a.trivial.astype(np.float64))


def distance_matrix(embeddings, distance="sym", alpha=0.15):
    """`[n, n]` matrix of `d_sym` (or `d_asym(row -> column)` for `distance="asym"`)."""
    if distance not in ("sym", "asym"):
        raise ValueError(f'Expected `distance` "sym" or "asym". Received: distance={distance!r}.')
    n = len(embeddings)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = d_sym(embeddings[i], embeddings[j]) if distance == "sym" else \
                d_asym(embeddings[i], embeddings[j], alpha)
    return out


# ------------------------------------------------------------------ the application
def _probe_fingerprint(probe, fisher):
    import hashlib

    digest = hashlib.sha1()
    for variable in fisher.extractor.weights:
        digest.update(np.ascontiguousarray(np.asarray(variable, np.float32)).tobytes())
    layers = ",".join(f"{n}:{f}" for n, f in zip(fisher.layers, fisher.filters))
    return f"{probe.name}[{layers}]@{digest.hexdigest()[:12]}"


def _task_arrays(data):
    """`(images, labels)` arrays from a tuple of arrays or a tf.data.Dataset of (image, label)."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise ValueError(f"Expected a Dataset of (image, label) pairs. Received: element_spec={spec}.")
        images, labels = [], []
        batched = len(spec[1].shape) == 1
        for x, y in data.as_numpy_iterator():
            images.append(x if batched else x[None])
            labels.append(np.reshape(y, (-1,)))
        if not images:
            raise ValueError("Expected a non-empty Dataset. Received: a Dataset with no elements.")
        return np.concatenate(images), np.concatenate(labels)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return np.asarray(data[0]), np.asarray(data[1])
    if hasattr(data, "images") and hasattr(data, "labels"):  # an episodes.Source
        return data.images, data.labels
    raise ValueError(
        "Expected `data` as (images, labels) arrays, an episodes.Source or a tf.data.Dataset of "
        f"(image, label). Received: {type(data).__name__}."
    )


class Task2Vec:
    """Task2Vec: embed a labelled image task as the Fisher information of a probe network.

    The probe's feature extractor is frozen, a linear head is fitted on the task and
    the diagonal Fisher information of the extractor's filters is the embedding
    (Sect. 3.1; see `kzoo.layers.FisherProbe` for the estimators). Embeddings of the
    same probe are compared with `d_sym` / `d_asym` (Sect. 3.3); `domain_embedding`
    is the mean-activation baseline of Sect. 4.1.

    Args:
        probe: a functional/sequential `keras.Model` classifier (images -> logits).
        method: `"variational"` (the paper's robust estimator), `"montecarlo"` (the
            Fisher with sampled labels) or `"expected"` (the Fisher with the expectation
            over labels computed exactly and a deterministic head: seed-free on tasks
            of at most `max_samples` images). Defaults to `"variational"`.
        **fisher_options: `FisherProbe` options (`layers`, `skip_layers`,
            `feature_layer`, `max_samples`, `batch_size`, `epochs`, `head_epochs`,
            `beta`, `balanced`, ...).

    Example:

    >>> from kzoo import episodes
    >>> from kzoo.applications import Task2Vec, d_sym
    >>> t2v = Task2Vec.from_preset("probe_glyphs_resnet", method="montecarlo", max_samples=256)
    >>> glyphs = episodes.glyphs()
    >>> greek = glyphs.subset([c for c in range(glyphs.num_classes) if glyphs.alphabets[c] == "Greek"][:10])
    >>> a = t2v.embed(greek, seed=0)
    >>> a.vector.shape == (t2v.fisher.num_filters,), round(d_sym(a, a), 6)
    (True, 0.0)

    Reference: Achille et al., "Task2Vec: Task Embedding for Meta-Learning", ICCV 2019.
    """

    def __init__(self, probe, method="variational", **fisher_options):
        from kzoo.layers.fisher_probe import FisherProbe

        self.probe = probe
        self.method = method
        self.fisher = FisherProbe(probe, method=method, **fisher_options)
        self.fingerprint = _probe_fingerprint(probe, self.fisher)
        self.preset_metadata = {}

    @staticmethod
    def presets():
        """`{name: metadata}` of the built-in probe presets."""
        return probe_presets()

    @classmethod
    def from_preset(cls, preset="probe_glyphs_resnet", method="variational", **fisher_options):
        """Task2Vec on a built-in probe preset (or a probe preset folder)."""
        probe, metadata = load_probe_preset(preset)
        model = cls(probe, method=method, **fisher_options)
        model.preset_metadata = metadata
        return model

    def embed(self, data, seed=0, name=None):
        """Embeds one task.

        Args:
            data: `(images, labels)` arrays, an `episodes.Source`, or a
                `tf.data.Dataset` of `(image, label)` (batched or not). Images
                `[M, *probe_input_shape]` (uint8 in [0, 255] or floats in [0, 1]),
                labels 0..C-1 with C >= 2.
            seed: seed of the sampling and noise: the same seed gives the same vector.
            name: stored in the metadata (default: the Source's name).

        Returns:
            A `TaskEmbedding` with `vector` `[num_filters]`.
        """
        images, labels = _task_arrays(data)
        result = self.fisher.estimate(images, labels, seed=seed)
        metadata = {
            "name": name if name is not None else getattr(data, "name", ""),
            "images": result["num_images"], "classes": result["num_classes"], "seed": seed,
            "head_accuracy": result["head_accuracy"], "layers": self.fisher.layers,
            "filters": self.fisher.filters, "max_samples": self.fisher.max_samples,
            "epochs": self.fisher.epochs,
        }
        return TaskEmbedding(result["fisher"], result["trivial"], method=self.method, probe=self.fingerprint,
                             metadata=metadata)

    def embed_many(self, tasks, seed=0, names=None):
        """Embeds a list of tasks (each as accepted by `embed`), all with the same seed."""
        tasks = list(tasks)
        names = names if names is not None else [None] * len(tasks)
        return [self.embed(task, seed=seed, name=name) for task, name in zip(tasks, names)]

    def domain_embedding(self, data, name=None):
        """The domain baseline: the mean probe activations phi(x) over the task images (labels unused)."""
        images, labels = _task_arrays(data)
        images, _ = self.fisher.check_task(images, labels)
        mean = self.fisher.features(images).mean(0)
        metadata = {"name": name if name is not None else getattr(data, "name", ""), "images": len(images),
                    "feature_layer": self.fisher.feature_layer}
        return TaskEmbedding(np.maximum(mean, 0.0), None, method="domain", probe=self.fingerprint,
                             metadata=metadata)
