"""The standard few-shot training recipe behind `kzoo fit` and the preset scripts.

split the classes (held-out alphabets) -> train on episodes of the train part with
validation episodes -> score on fixed test episodes (mean and 95% CI) -> metadata
that records everything needed to rerun it.

Several sources (`"omniglot+glyphs"`) train together (`kzoo.episodes.split_source`).
"""

import time

from kzoo import episodes as episodes_lib
from kzoo.episodes.splits import other_test_parts, recorded_split, split_source
from kzoo.training.callbacks import EpisodeTensorBoard, KeepBestWeights
from kzoo.training.evaluation import evaluate_episodes

def evaluation_dataset(source, evaluation):
    """The fixed evaluation episodes described by an `evaluation` dict."""
    return episodes_lib.few_shot(
        source, evaluation["ways"], evaluation["shots"], evaluation["queries"],
        tasks=evaluation["tasks"], rotations=evaluation.get("rotations", False),
        seed=evaluation["seed"], batches=evaluation["episodes"] // evaluation["tasks"])


def train_and_evaluate(model, source, ways, shots, queries=5, tasks=1, steps=1000,
                       steps_per_epoch=100, rotations=False, seed=0, log_dir=None,
                       eval_ways=None, eval_shots=None, eval_queries=15, eval_episodes=600,
                       eval_seed=1234, split=None, distortion=None, val_episodes=20,
                       select_best=False, variable=None, verbose=1):
    """Trains `model` on episodes of the train split and scores it on held-out classes.

    Args:
        model: a compiled kzoo classifier.
        source: the `Source` to split (70/10/20 by alphabet, seed 0, by default), or
            a list of them: train on all their train parts, validate and test on
            the first's (see `split_source`); the others' test parts are scored too.
        ways, shots, queries, tasks: training episodes (N, K, Q, T).
        steps: training steps (episode batches). Defaults to `1000`.
        steps_per_epoch: steps between validation passes. Defaults to `100`.
        rotations: train with 90-degree rotated classes. Defaults to `False`.
        seed: training-episode seed. Defaults to `0`.
        log_dir: TensorBoard folder, or `None`.
        eval_ways, eval_shots: test episodes' N and K. Default to `ways`, `shots`.
        eval_queries: test queries per class. Defaults to `15`.
        eval_episodes: number of test episodes. Defaults to `600`.
        eval_seed: seed of the test episodes. Defaults to `1234`.
        split: overrides of the class split (`fractions`, `by`, `seed`).
        distortion: a `kzoo.episodes.Distortion` (or `True`) for the training
            episodes only. Defaults to `None`.
        val_episodes: validation episodes per epoch, a multiple of 10. Defaults to `20`.
        select_best: keep the weights of the epoch with the best validation
            accuracy (`KeepBestWeights`), not the last. Defaults to `False`.
        variable: train on variable-way, variable-shot episodes instead
            (`episodes.variable_few_shot`; `ways`, `shots`, `queries` and `tasks`
            then describe only the defaults of the test episodes): a dict of its
            limits, e.g. `{"min_ways": 5, "max_ways": 50}`, or `None`. Defaults to `None`.

    Returns:
        `(history, score, record)`: the Keras history, the test score dict from
        `evaluate_episodes`, and a metadata dict (data split, training and
        evaluation settings, score) for `save_to_preset`.
    """
    train, validation, test = split_source(source, split)
    others = other_test_parts(source, split) if isinstance(source, (list, tuple)) else []
    if distortion is True:
        distortion = episodes_lib.Distortion()
    if val_episodes % 10:
        raise ValueError(f"Expected `val_episodes` to be a multiple of 10. Received: {val_episodes}.")
    steps_per_epoch = min(steps_per_epoch, steps)
    if steps % steps_per_epoch:
        raise ValueError(
            f"Expected `steps` to be a multiple of `steps_per_epoch` ({steps_per_epoch}). Received: steps={steps}."
        )
    evaluation = {"ways": eval_ways or ways, "shots": eval_shots or shots, "queries": eval_queries,
                  "tasks": 1 if eval_episodes < 20 else 20, "episodes": eval_episodes,
                  "seed": eval_seed, "rotations": False, "split": "test"}
    if eval_episodes % evaluation["tasks"]:
        raise ValueError(f"Expected `eval_episodes` to be a multiple of 20. Received: {eval_episodes}.")
    if variable is not None:
        train_ds = episodes_lib.variable_few_shot(train, rotations=rotations, seed=seed, distortion=distortion,
                                                  **variable)
    else:
        train_ds = episodes_lib.few_shot(train, ways, shots, queries, tasks=tasks, rotations=rotations, seed=seed,
                                         distortion=distortion)
    val_ways = min(evaluation["ways"], validation.num_classes)
    val_ds = episodes_lib.few_shot(validation, val_ways, evaluation["shots"], evaluation["queries"],
                                   tasks=10, seed=eval_seed + 1, batches=val_episodes // 10).cache()
    callbacks = []
    keep = KeepBestWeights("val_accuracy") if select_best else None
    if keep:
        callbacks.append(keep)
    if log_dir:
        callbacks.append(EpisodeTensorBoard(log_dir, episode=next(iter(train_ds)),
                                            update_freq=max(1, min(10, steps_per_epoch))))
    start = time.perf_counter()
    history = model.fit(train_ds, steps_per_epoch=steps_per_epoch, epochs=steps // steps_per_epoch,
                        validation_data=val_ds, callbacks=callbacks, verbose=verbose, shuffle=False)
    train_seconds = time.perf_counter() - start
    score = evaluate_episodes(model, evaluation_dataset(test, evaluation), verbose=verbose)
    episode_settings = ({"variable": dict(variable), "tasks": 1} if variable is not None
                        else {"ways": ways, "shots": shots, "queries": queries, "tasks": tasks})
    training = {**episode_settings, "steps": steps, "rotations": rotations, "seed": seed,
                "seconds": round(train_seconds, 1)}
    if distortion is not None:
        training["distortion"] = distortion.get_config()
    if keep:
        training["selected"] = {"monitor": keep.monitor, "epoch": keep.best_epoch + 1,
                                "of_epochs": steps // steps_per_epoch, "value": round(keep.best, 6),
                                "validation_episodes": val_episodes}
    record = {
        "data": {"source": repr(source), "split": recorded_split(source, split),
                 "train_source": repr(train), "train_alphabets": train.alphabet_names,
                 "train_classes": train.num_classes, "validation_classes": validation.num_classes,
                 "validation_alphabets": validation.alphabet_names,
                 "test_classes": test.num_classes, "test_alphabets": test.alphabet_names},
        "training": training,
        "evaluation": {**evaluation, "accuracy": score["accuracy"], "ci95": score["ci95"],
                       "accuracies": score["accuracies"]},
    }
    if others:
        record["other_evaluations"] = []
        for other in others:
            ways_other = min(evaluation["ways"], other.num_classes)
            other_eval = {**evaluation, "ways": ways_other, "source": repr(other)}
            other_score = evaluate_episodes(model, evaluation_dataset(other, other_eval), verbose=verbose)
            record["other_evaluations"].append(
                {**other_eval, "test_alphabets": other.alphabet_names, "accuracy": other_score["accuracy"],
                 "ci95": other_score["ci95"]})
    return history, score, record


__all__ = ["evaluation_dataset", "train_and_evaluate"]
