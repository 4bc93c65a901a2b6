"""TAFE-Net and a bilinear-compatibility baseline on the built-in glyph zero-shot split.

    nice -n 5 python applications/tafenet/scripts/gzsl.py --method tafenet --beta 0.1
    nice -n 5 python applications/tafenet/scripts/gzsl.py --method tafenet --beta 0
    nice -n 5 python applications/tafenet/scripts/gzsl.py --method bilinear
    nice -n 5 python applications/tafenet/scripts/gzsl.py --method tafenet --tasks onehot

Trains on trainval (seen classes; each class described by `--tasks`: its binary
attribute vector, or one-hot diacritic ++ one-hot base letter), then reports
GZSL: test-seen and test-unseen images scored against ALL classes, per-class u, s,
H (Xian et al.); and the composition task: test-unseen images ranked over the
unseen (diacritic, letter) pairs only, top-1/2/3 accuracy and mAP (Misra et al.).
The number of epochs is fixed in advance (no model selection on a test split).
Writes a JSON result to applications/tafenet/results/ and optionally a preset.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "results"


def bilinear_baseline(data, tasks, epochs, seed, lr=1e-3, batch_size=64):
    """ALE/DeViSE-style bilinear compatibility F(x, c) = x W a_c, softmax over seen classes."""
    import keras

    keras.utils.set_random_seed(seed)
    seen = data.seen_classes
    x, y = data.split("trainval")
    index = np.full(data.num_classes, -1)
    index[seen] = np.arange(seen.size)
    a_seen = keras.ops.convert_to_tensor(tasks[seen])
    w = keras.layers.Dense(tasks.shape[1], use_bias=False, name="W")
    inputs = keras.Input((x.shape[1],))
    model = keras.Model(inputs, keras.ops.matmul(w(inputs), keras.ops.transpose(a_seen)))
    model.compile(keras.optimizers.Adam(lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, index[y], batch_size=batch_size, epochs=epochs, verbose=2)

    def scores(features):
        return np.asarray(w(features)) @ tasks.T

    return scores


def bootstrap_ci(data, ys, ps, yu, pu, target, pair_scores, seed=0, rounds=1000):
    """95% bootstrap intervals (2.5/97.5 percentiles): u, s, H resample classes; top-1 resamples images."""
    from kzoo import zsl

    rng = np.random.default_rng([seed, 99])
    acc_s = np.array([np.mean(ps[ys == c] == c) for c in np.unique(ys)])
    acc_u = np.array([np.mean(pu[yu == c] == c) for c in np.unique(yu)])
    hits = np.argmax(pair_scores, 1) == target
    draws = {k: [] for k in ("u", "s", "H", "top1")}
    for _ in range(rounds):
        s = acc_s[rng.integers(0, acc_s.size, acc_s.size)].mean()
        u = acc_u[rng.integers(0, acc_u.size, acc_u.size)].mean()
        draws["s"].append(s)
        draws["u"].append(u)
        draws["H"].append(zsl.harmonic_mean(u, s))
        draws["top1"].append(hits[rng.integers(0, hits.size, hits.size)].mean())
    return {k: [round(float(v), 4) for v in np.percentile(d, [2.5, 97.5])] for k, d in draws.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", choices=("tafenet", "bilinear"), default="tafenet")
    parser.add_argument("--tasks", choices=("attributes", "onehot"), default="attributes")
    parser.add_argument("--beta", type=float, default=0.1, help="embedding loss weight (eq. 5)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--classifier-units", type=int, default=128)
    parser.add_argument("--classes-per-step", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="steps per epoch (timing runs)")
    parser.add_argument("--name", default=None, help="result file name (default from the settings)")
    parser.add_argument("--generator-activation", default="relu", help='"relu" (default) or "linear"')
    parser.add_argument("--positive-weight", type=float, default=1.0,
                        help="weight of matching pairs in eq. (6); the authors' code uses num_classes - 1")
    parser.add_argument("--from-preset", default=None, help="evaluate this preset instead of training")
    parser.add_argument("--save-preset", default=None, help="write a preset folder here")
    args = parser.parse_args(argv)

    import keras

    from kzoo import zsl
    from kzoo.applications import TAFENet

    data = zsl.glyph_compositions(verbose=1)
    tasks = zsl.composition_tasks(data, args.tasks)
    start = time.time()
    if args.method == "bilinear":
        scorer = bilinear_baseline(data, tasks, args.epochs, args.seed)
        model = None
    elif args.from_preset:
        model = TAFENet.from_preset(args.from_preset)
        if model.task_dim != tasks.shape[1]:
            parser.error(f"--from-preset {args.from_preset} takes {model.task_dim}-dim tasks; check --tasks")

        def scorer(features):
            return model.predict(features, tasks=tasks, batch_size=64, verbose=0)
    else:
        keras.utils.set_random_seed(args.seed)
        model = TAFENet(feature_dim=data.feature_dim, task_dim=tasks.shape[1], hidden_units=(args.hidden,) * 3,
                        task_units=args.hidden, classifier_units=args.classifier_units, embedding_loss_weight=args.beta,
                        classes_per_step=args.classes_per_step,
                        generator_activation=None if args.generator_activation == "linear"
                        else args.generator_activation,
                        embedding_positive_weight=args.positive_weight)
        model.compile(keras.optimizers.Adam(args.lr))
        x, y = data.split("trainval")
        model.fit(x, y, tasks=tasks, classes=data.seen_classes, batch_size=args.batch_size, epochs=args.epochs,
                  steps_per_epoch=args.steps, verbose=2)

        def scorer(features):
            return model.predict(features, tasks=tasks, batch_size=64, verbose=0)
    train_seconds = time.time() - start
    result = {"method": args.method, "tasks": args.tasks, "beta": args.beta,
              "epochs": args.epochs, "hidden": args.hidden, "classifier_units": args.classifier_units,
              "classes_per_step": args.classes_per_step,
              "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
              "generator_activation": args.generator_activation, "positive_weight": args.positive_weight,
              "from_preset": args.from_preset,
              "train_seconds": round(train_seconds, 1), "data": repr(data),
              "command": "python " + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv or sys.argv[1:]))}
    xs, ys = data.split("test_seen")
    xu, yu = data.split("test_unseen")
    start = time.time()
    scores_seen, scores_unseen = scorer(xs), scorer(xu)
    result["scoring_images_per_second"] = round((len(xs) + len(xu)) / (time.time() - start), 1)
    # GZSL: every test image against all classes (Xian et al.'s per-class u, s, H).
    gzsl = zsl.gzsl_scores(ys, np.argmax(scores_seen, 1), yu, np.argmax(scores_unseen, 1))
    result.update({k: round(v, 4) for k, v in gzsl.items()})
    result["zsl_unseen_only"] = round(zsl.per_class_accuracy(
        yu, data.unseen_classes[np.argmax(scores_unseen[:, data.unseen_classes], 1)]), 4)
    # Composition: test-unseen images ranked over the unseen (diacritic, letter) pairs only.
    pairs = data.unseen_classes
    target = np.searchsorted(pairs, yu)
    result.update({f"top{k}": round(zsl.top_k_accuracy(target, scores_unseen[:, pairs], k), 4) for k in (1, 2, 3)})
    result["mAP"] = round(zsl.mean_average_precision(target, scores_unseen[:, pairs]), 4)
    result["ci95"] = bootstrap_ci(data, ys, np.argmax(scores_seen, 1), yu, np.argmax(scores_unseen, 1),
                                  target, scores_unseen[:, pairs], seed=args.seed)
    result["evaluation"] = (f"GZSL: per-class top-1 of {len(ys)} test-seen and {len(yu)} test-unseen images "
                            f"against all {data.num_classes} classes; composition: the {len(yu)} test-unseen "
                            f"images ranked over the {pairs.size} unseen pairs (top-k, retrieval mAP)")
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = args.name or f"{args.method}_{args.tasks}" + (f"_beta{args.beta:g}" if args.method == "tafenet" else "")
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.from_preset:
        result["settings_of_preset"] = model.preset_metadata.get("settings")
    if args.save_preset and model is not None and not args.from_preset:
        preset_metadata(model, data, tasks, args, result)
    return result


def preset_metadata(model, data, tasks, args, result):
    """Saves `model` as a preset whose evaluation records per-image scores to replay."""
    fixed = np.concatenate([data.test_seen_loc[::10], data.test_unseen_loc[::10]])
    fixed_pred = np.argmax(model.predict(data.features[fixed], tasks=tasks, batch_size=64, verbose=0), 1)
    metadata = {
        "description": f"TAFE-Net on the built-in glyph compositional set ({args.tasks} task descriptions)",
        "data_spec": f"zsl:glyph_compositions:{args.tasks}",
        "data": {"source": repr(data), "statistics": data.statistics(),
                 "feature_backbone": data.extra["backbone"]},
        "command": result["command"],
        "evaluation": {k: v for k, v in result.items() if k in ("u", "s", "H", "zsl_unseen_only", "top1", "top2",
                                                                  "top3", "mAP", "evaluation")},
        "settings": {k: v for k, v in result.items() if k in ("beta", "epochs", "hidden", "classifier_units",
                                                                "classes_per_step", "batch_size", "lr", "seed")},
        "replay": {"sample_indices": fixed.tolist(), "predicted_classes": fixed_pred.tolist(),
                   "note": "every 10th test-seen and test-unseen sample; predicted class over all classes"},
    }
    model.save_to_preset(args.save_preset, metadata, overwrite=True)
    print("preset written to", args.save_preset)


if __name__ == "__main__":
    main()
