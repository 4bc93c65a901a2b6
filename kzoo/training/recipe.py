"""The standard few-shot training recipe behind `kzoo fit` and the preset scripts.

split the classes (held-out alphabets) -> train on episodes of the train part with
validation episodes -> score on fixed test episodes (mean and 95% CI) -> metadata
that records everything needed to rerun it.
"""

import time


from kzoo import episodes as episodes_lib
from kzoo.training.callbacks import EpisodeTensorBoard
from kzoo.training.evaluation import evaluate_episodes

SPLIT = {"fractions": [0.7, 0.1, 0.2], "by": "alphabet", "seed": 0}


def split_source(source, split=None):
    """`(train, validation, test)` parts of `source` by the recorded split."""
    split = {**SPLIT, **(split or {})}
    return source.split(tuple(split["fractions"]), by=split["by"], seed=split["seed"])


def evaluation_dataset(source, evaluation):
    """The fixed evaluation episodes described by an `evaluation` dict."""
    return episodes_lib.few_shot(
        source, evaluation["ways"], evaluation["shots"], evaluation["queries"],
        tasks=evaluation["tasks"], rotations=evaluation.get("rotations", False),
        seed=evaluation["seed"], batches=evaluation["episodes"] // evaluation["tasks"])


def train_and_evaluate(model, source, ways, shots, queries=5, tasks=1, steps=1000,
                       steps_per_epoch=100, rotations=False, seed=0, log_dir=None,
                       eval_ways=None, eval_shots=None, eval_queries=15, eval_episodes=600,
                       eval_seed=1234, split=None, verbose=1):
    """Trains `model` on episodes of the train split and scores it on held-out classes.

    Args:
        model: a compiled kzoo classifier.
        source: the `Source` to split (70/10/20 by alphabet, seed 0, by default).
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

    Returns:
        `(history, score, record)`: the Keras history, the test score dict from
        `evaluate_episodes`, and a metadata dict (data split, training and
        evaluation settings, score) for `save_to_preset`.
    """
    train, validation, test = split_source(source, split)
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
    train_ds = episodes_lib.few_shot(train, ways, shots, queries, tasks=tasks, rotations=rotations, seed=seed)
    val_ways = min(evaluation["ways"], validation.num_classes)
    val_ds = episodes_lib.few_shot(validation, val_ways, evaluation["shots"], evaluation["queries"],
                                   tasks=10, seed=eval_seed + 1, batches=2).cache()
    callbacks = []
    if log_dir:
        callbacks.append(EpisodeTensorBoard(log_dir, episode=next(iter(train_ds)),
                                            update_freq=max(1, min(10, steps_per_epoch))))
    start = time.perf_counter()
    history = model.fit(train_ds, steps_per_epoch=steps_per_epoch, epochs=steps // steps_per_epoch,
                        validation_data=val_ds, callbacks=callbacks, verbose=verbose, shuffle=False)
    train_seconds = time.perf_counter() - start
    score = evaluate_episodes(model, evaluation_dataset(test, evaluation), verbose=verbose)
    record = {
        "data": {"source": repr(source), "split": {**SPLIT, **(split or {})},
                 "train_classes": train.num_classes, "validation_classes": validation.num_classes,
                 "test_classes": test.num_classes, "test_alphabets": test.alphabet_names},
        "training": {"ways": ways, "shots": shots, "queries": queries, "tasks": tasks, "steps": steps,
                     "rotations": rotations, "seed": seed, "seconds": round(train_seconds, 1)},
        "evaluation": {**evaluation, "accuracy": score["accuracy"], "ci95": score["ci95"],
                       "accuracies": score["accuracies"]},
    }
    return history, score, record


__all__ = ["evaluation_dataset", "split_source", "train_and_evaluate"]
