"""Scoring a model on a fixed set of evaluation episodes (mean accuracy and 95% CI)."""

import keras
import tensorflow as tf

from kzoo.metrics import mean_confidence_interval


def evaluate_episodes(model, episodes, num_batches=None, verbose=1):
    """Mean query accuracy over evaluation episodes with its 95% confidence interval.

    Episodes from `kzoo.episodes.few_shot(..., seed=s, batches=b)` are fixed by
    their seed, so every model scored with the same call sees the same episodes.

    Args:
        model: a kzoo classifier (returns `[T, Q, N]` logits for an episode dict).
        episodes: a finite `tf.data.Dataset` of `(x, query_y)` episode batches.
        num_batches: stop after this many batches. Defaults to all of them.
        verbose: 1 shows a progress bar. Defaults to `1`.

    Returns:
        dict with `accuracy` (mean over episodes), `ci95` (1.96 std / sqrt(n)),
        `episodes` (n) and `accuracies` (the per-episode list, in order).
    """
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    cardinality = int(episodes.cardinality())
    total = num_batches or (cardinality if cardinality > 0 else None)
    progress = keras.utils.Progbar(total, unit_name="batch") if verbose else None
    accuracies = []
    for i, (x, query_y) in enumerate(episodes):
        if num_batches is not None and i >= num_batches:
            break
        logits = predict(x)
        if not bool(tf.reduce_all(tf.math.is_finite(logits))):
            raise ValueError(f"Expected finite logits from the model. Received: NaN or inf logits in "
                             f"evaluation batch {i}; the weights may have diverged (lower the learning rate).")
        hits = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(query_y, tf.int32)), tf.float32)
        accuracies.extend(tf.reduce_mean(hits, axis=-1).numpy().tolist())
        if progress:
            mean, _ = mean_confidence_interval(accuracies)
            progress.update(i + 1, [("accuracy", mean)])
    if not accuracies:
        raise ValueError("Expected at least one episode batch in `episodes`. Received: an empty dataset.")
    mean, ci95 = mean_confidence_interval(accuracies)
    return {"accuracy": mean, "ci95": ci95, "episodes": len(accuracies),
            "accuracies": [round(a, 6) for a in accuracies]}


def evaluate_regression(model, episodes, verbose=0):
    """Mean query MSE over regression episodes with its 95% confidence interval.

    Args:
        model: a kzoo regressor (returns `[T, Q, 1]` predictions for an episode dict).
        episodes: a finite `tf.data.Dataset` of `(x, query_y)` regression episodes.
        verbose: 1 shows a progress bar. Defaults to `0`.

    Returns:
        dict with `mse` (mean over tasks), `ci95`, `episodes` and `losses` (per task).
    """
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    progress = keras.utils.Progbar(None, unit_name="batch") if verbose else None
    losses = []
    for i, (x, query_y) in enumerate(episodes):
        predictions = predict(x)
        if not bool(tf.reduce_all(tf.math.is_finite(predictions))):
            raise ValueError(f"Expected finite predictions from the model. Received: NaN or inf in "
                             f"evaluation batch {i}; the weights may have diverged (lower the learning rate).")
        errors = tf.reduce_mean(tf.square(predictions - tf.cast(query_y, tf.float32)), axis=[1, 2])
        losses.extend(errors.numpy().tolist())
        if progress:
            progress.update(i + 1)
    if not losses:
        raise ValueError("Expected at least one episode batch in `episodes`. Received: an empty dataset.")
    mse, ci95 = mean_confidence_interval(losses)
    return {"mse": mse, "ci95": ci95, "episodes": len(losses), "losses": [round(v, 6) for v in losses]}


def format_score(score):
    """`"93.41% +- 0.52% (600 episodes)"`."""
    return f"{100 * score['accuracy']:.2f}% +- {100 * score['ci95']:.2f}% ({score['episodes']} episodes)"

