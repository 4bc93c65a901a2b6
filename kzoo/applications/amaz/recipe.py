"""The AMAZ recipe behind `kzoo fit amaz`, `kzoo evaluate amaz/...` and applications/amaz/.

Training: Algorithm 1 on N-way K-shot support / N-way Q-shot query tasks of the seen
(trainval) classes, T tasks per batch, for a number of meta-iterations fixed in
advance. Features are divided by their maximum over trainval (f-CLSWGAN's MinMax
scaling: with the raw glyph features, up to 13, the support-set SGD steps diverged
to NaN within 40 iterations); the scale is recorded and reused at evaluation.

Evaluation: ZSL on test-unseen (final classifiers trained on synthetic features,
`zsl_scores`), GZSL on test-seen + test-unseen (synthetic features of every class,
`gzsl_scores`), and retrieval precision@5/@10 (`retrieval_precision`).
"""

import time

import numpy as np

from kzoo.applications.amaz.evaluation import DEFAULT_CLASSIFIERS, gzsl_scores, retrieval_precision, zsl_scores
from kzoo.episodes.zero_shot import zero_shot_tasks

def glyph_sizes(width=256):
    """AMAZ's network sizes for the built-in glyph set at `width` (the generator's units).

    Every other network scales with it: the task embedding and the classifier are half as
    wide, the critic and the attribute decoder `(width, width / 2)`; `glyph_sizes(256)` is
    `GLYPH_SIZES`.

    >>> glyph_sizes(512)["discriminator_units"]
    (512, 256)
    """
    half = width // 2
    return {"generator_units": (width,) * 3, "embedding_dim": half, "discriminator_units": (width, half),
            "classifier_units": (half, half), "decoder_units": (width, half)}


#: network sizes for the built-in glyph set's 256-d features (the paper's 2048-wide nets
#: are for 2048-d ResNet features): `kzoo fit amaz --data glyph_compositions` uses them
GLYPH_SIZES = glyph_sizes(256)


def feature_scale(data):
    """The maximum trainval feature: every split is divided by it."""
    return float(data.split("trainval")[0].max())


def train(model, data, steps=2000, ways=10, shots=5, queries=3, tasks=10, seed=0, steps_per_epoch=100,
          callbacks=(), verbose=2):
    """Meta-trains a compiled `AMAZ` on tasks of `data`'s seen classes; returns the training record.

    With `classifier_training="pretrained"`, C is first trained on the real trainval
    features (`AMAZ.pretrain_classifier`).

    Args:
        model: a compiled `AMAZ` with `num_classes` = the number of seen classes.
        data: a `ZeroShotData`.
        steps: meta-iterations. Defaults to `2000`.
        ways, shots, queries, tasks: the tasks (the paper: 10-way, 5 and 3 shots, 10).
        seed: task seed. Defaults to `0`.
        steps_per_epoch: iterations between logs. Defaults to `100`.
        callbacks: Keras callbacks (e.g. `SyntheticFeatureProjection`).

    Returns:
        `{"steps", "ways", "shots", "queries", "tasks", "seed", "feature_scale",
        "seconds", "history"}`.
    """
    if model.num_classes != data.seen_classes.size:
        raise ValueError(f"Expected an AMAZ with num_classes={data.seen_classes.size} (the seen classes of "
                         f"{data.name}). Received: num_classes={model.num_classes}.")
    scale = feature_scale(data)
    x, y = data.split("trainval")
    episodes = zero_shot_tasks(x / scale, y, data.attributes, data.seen_classes, ways=ways, shots=shots,
                               queries=queries, tasks=tasks, seed=seed)
    steps_per_epoch = min(steps_per_epoch, steps)
    start = time.perf_counter()
    if model.classifier_training == "pretrained":  # C on the real seen features first, then frozen
        model.pretrain_classifier(x / scale, np.searchsorted(data.seen_classes, y))
    history = model.fit(episodes, steps_per_epoch=steps_per_epoch, epochs=max(1, steps // steps_per_epoch),
                        callbacks=list(callbacks), verbose=verbose)
    return {"steps": steps, "ways": ways, "shots": shots, "queries": queries, "tasks": tasks, "seed": seed,
            "feature_scale": scale, "seconds": round(time.perf_counter() - start, 1),
            "history": {k: [round(float(v), 4) for v in values] for k, values in history.history.items()}}


def evaluate(model, data, scale=None, zsl_per_class=100, gzsl_per_class=100, classifiers=DEFAULT_CLASSIFIERS,
             gzsl=True, seed=0):
    """ZSL top-1 per final classifier, GZSL u/s/H and retrieval precision of `model` on `data`.

    Args:
        model: a trained `AMAZ`.
        data: the `ZeroShotData` it was trained on.
        scale: the training feature scale (default: `feature_scale(data)`).
        zsl_per_class, gzsl_per_class: synthetic features per class (the paper: 100, 300).
        classifiers: ZSL final classifiers. Defaults to the two softmax ones
            (`kzoo.applications.amaz.evaluation.DEFAULT_CLASSIFIERS`).
        gzsl: also score GZSL. Defaults to `True`.
        seed: synthesis and classifier seed. Defaults to `0`.

    Returns:
        `{"zsl": {kind: top-1}, "zsl_ci95": {kind: half-width}, "retrieval":
        {"ap@5", "ap@10"}, "gzsl": {kind: {"u", "s", "H"}}, ...}`.
    """
    scale = feature_scale(data) if scale is None else float(scale)
    seen, unseen = np.asarray(data.seen_classes), np.asarray(data.unseen_classes)
    seen_x, seen_y = data.split("test_seen")
    unseen_x, unseen_y = data.split("test_unseen")
    seen_x, unseen_x = seen_x / scale, unseen_x / scale
    scores = zsl_scores(model, unseen_x, unseen_y, data.attributes, unseen, num_per_class=zsl_per_class,
                        kinds=classifiers, seed=seed, batch_size=256)
    result = {"zsl": {k: round(v, 4) for k, v in scores.items() if isinstance(v, float)},
              "zsl_ci95": {k: round(v, 4) for k, v in scores["ci95"].items()},
              "retrieval": retrieval_precision(model, unseen_x, unseen_y, data.attributes, unseen, seed=seed)}
    if gzsl:
        result["gzsl"] = gzsl_scores(model, seen_x, seen_y, unseen_x, unseen_y, data.attributes, seen, unseen,
                                     num_per_class=gzsl_per_class, seed=seed, batch_size=512)
    result.update({"zsl_per_class": zsl_per_class, "gzsl_per_class": gzsl_per_class, "seed": seed,
                   "feature_scale": scale, "unseen_classes": int(unseen.size),
                   "test_unseen_samples": int(unseen_y.size)})
    return result
