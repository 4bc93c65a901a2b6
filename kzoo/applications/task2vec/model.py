"""Task2Vec (Achille et al., ICCV 2019): task embeddings from the Fisher information of a probe."""

import numpy as np

from kzoo.applications.task2vec.embedding import TaskEmbedding
from kzoo.applications.task2vec.probe import load_probe_preset, probe_presets, save_probe_preset
from kzoo.presets import classproperty


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
    (Sect. 3.1; see `kzoo.applications.task2vec.FisherProbe` for the estimators). Embeddings of the
    same probe are compared with `d_sym` / `d_asym` (Sect. 3.3); `domain_embedding`
    is the mean-activation baseline of Sect. 4.1.

    Args:
        probe: a functional/sequential `keras.Model` classifier (images -> logits).
        method: `"expected"` (the Fisher with the expectation over labels computed
            exactly and a deterministic head: seed-free on tasks of at most
            `max_samples` images, embedded as the precision per image
            F + (beta / N) lambda^2 with the prior's (beta / N) lambda^2 as trivial
            embedding), `"variational"` (the paper's
            estimator, trained) or `"montecarlo"` (the Fisher with sampled labels).
            Defaults to `"expected"`.
        **fisher_options: `FisherProbe` options (`layers`, `skip_layers`,
            `feature_layer`, `max_samples`, `batch_size`, `epochs`, `head_epochs`,
            `beta`, `balanced`, ...).

    Examples:
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

    #: folder name under saved_models/
    preset_folder = "task2vec"

    def __init__(self, probe, method="expected", **fisher_options):
        from kzoo.applications.task2vec.fisher import FisherProbe

        self.probe = probe
        self.method = method
        self.fisher = FisherProbe(probe, method=method, **fisher_options)
        self.fingerprint = _probe_fingerprint(probe, self.fisher)
        self.preset_metadata = {}

    @classproperty
    def presets(cls):
        """`{name: metadata}` of the built-in probe presets (as every application's `presets`)."""
        return probe_presets()

    @classmethod
    def from_preset(cls, preset="probe_glyphs_resnet", method="expected", **fisher_options):
        """Task2Vec on a built-in probe preset (or a probe preset folder)."""
        probe, metadata = load_probe_preset(preset)
        model = cls(probe, method=method, **fisher_options)
        model.preset_metadata = metadata
        return model

    def save_to_preset(self, folder, metadata=None, overwrite=False):
        """Writes the probe as a preset folder (`from_preset` loads it back), atomically."""
        return save_probe_preset(self.probe, folder, metadata, overwrite, serving=self)

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

    # -- serving --------------------------------------------------------------------------

    @property
    def serving_trackable(self):
        """What a serving export tracks: the probe (the embedding itself needs a fitted head)."""
        return self.probe

    def serving_specs(self):
        """Named spec of the export: `images` float32 `[B, *probe_input_shape]` in [0, 1]."""
        import tensorflow as tf

        return [tf.TensorSpec((None, *self.fisher.input_shape), tf.float32, name="images")]

    def serve(self, images):
        """The export endpoint: the probe's `logits` `[B, classes]` and `features` phi(x) `[B, D]`."""
        return {"logits": self.probe(images, training=False),
                "features": self.fisher.extractor(images, training=False)}
