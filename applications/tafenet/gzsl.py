"""TAFE-Net ablations and the bilinear-compatibility baseline on the built-in glyph zero-shot set.

    python applications/tafenet/gzsl.py --method tafenet --beta 0
    python applications/tafenet/gzsl.py --method bilinear [--tasks onehot]
    python applications/tafenet/gzsl.py --method eszsl [--tasks onehot]   # closed form, chosen on seen classes
    python applications/tafenet/gzsl.py --method tafenet --generator-activation linear --positive-weight 63

The presets (beta = 0.1, attribute and one-hot descriptions) are trained by
`kzoo fit tafenet` in reproduce.sh; this script runs the rows around them with the
same recipe (`kzoo.applications.tafenet.recipe`: trainval of the seen classes, a
number of epochs fixed in advance, GZSL u/s/H and the composition metrics) and writes
one JSON per run to applications/tafenet/results/.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path


RESULTS = Path(__file__).resolve().parent / "results"


def fit_scorer(args, data, tasks):
    """Trains `args.method` on `data`'s trainval split; returns (features -> scores [B, C], record)."""
    import keras

    from kzoo import zsl
    from kzoo.applications import TAFENet
    from kzoo.applications.tafenet import recipe

    x, y = data.split("trainval")
    if args.method == "bilinear":
        model = zsl.Bilinear(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size,
                             seed=args.seed).fit(x, y, tasks, classes=data.seen_classes, verbose=2)
        return (lambda features: model.scores(features, tasks)), {}
    if args.method == "eszsl":
        if args.gamma is None:  # the paper's protocol: chosen on held-out seen classes
            model, selection = zsl.ESZSL.select(x, y, tasks, data.seen_classes, seed=args.seed)
        else:
            model, selection = zsl.ESZSL(args.gamma, args.lam).fit(x, y, tasks, classes=data.seen_classes), None
        return (lambda features: model.scores(features, tasks)), {"gamma": model.gamma, "lam": model.lam,
                                                                  "selection": selection}
    if args.method == "clswgan":
        model = zsl.CLSWGAN(hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size,
                            learning_rate=args.lr, classification_weight=args.beta, critic_steps=args.critic_steps,
                            seed=args.seed)
        model.fit(x, y, tasks, classes=data.seen_classes, verbose=2)
        scorer = model.classifier(tasks, data.unseen_classes, x, y)
        return scorer, {"history": model.history}
    keras.utils.set_random_seed(args.seed)
    model = TAFENet(feature_dim=data.feature_dim, task_dim=tasks.shape[1], hidden_units=(args.hidden,) * 3,
                    task_units=args.task_units or args.hidden, classifier_units=args.classifier_units,
                    embedding_loss_weight=args.beta, initialization=args.initialization,
                    classes_per_step=args.classes_per_step or None,
                    generator_activation=None if args.generator_activation == "linear" else args.generator_activation,
                    embedding_positive_weight=args.positive_weight,
                    task_normalization=None if args.task_normalization == "none" else args.task_normalization,
                    classification_loss=args.classification_loss,
                    task_activation=None if args.task_activation == "linear" else "relu",
                    task_learning_rate_multiplier=args.task_lr_multiplier)
    model.compile(keras.optimizers.Adam(args.lr))
    training = recipe.train(model, data, args.tasks, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                            learning_rate_drops=args.lr_drops)
    return (lambda features: model.predict(features, tasks=tasks, batch_size=64, verbose=0)), {"training": training}


def calibration(args, data, tasks):
    """Chao et al.'s calibrated stacking, gamma chosen on validation: `args.method` refitted on seen classes only."""
    from kzoo import zsl

    val = zsl.validation_data(data, descriptions=tasks, seed=args.seed)
    scorer, _ = fit_scorer(args, val, tasks[val.extra["source_classes"]])
    (xs, ys), (xu, yu) = val.split("test_seen"), val.split("test_unseen")
    chosen = zsl.choose_calibration(scorer(xs), ys, scorer(xu), yu, val.seen_classes)
    return {**chosen, "validation": repr(val), "validation_unseen_classes": int(val.unseen_classes.size)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", choices=("tafenet", "bilinear", "eszsl", "clswgan"), default="tafenet")
    parser.add_argument("--tasks", choices=("attributes", "onehot"), default="attributes")
    parser.add_argument("--beta", type=float, default=None,
                        help="tafenet: embedding loss weight (eq. 5; default 0.1); clswgan: classification loss "
                             "weight (eq. 4; default 0.01)")
    parser.add_argument("--calibrate", action="store_true",
                        help="also report GZSL with calibrated stacking, gamma chosen on held-out seen classes "
                             "(refits the method once on them)")
    parser.add_argument("--out", default=str(RESULTS), help="folder of the result JSON (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=None, help="tafenet: 256; clswgan: 4096")
    parser.add_argument("--classifier-units", type=int, default=128)
    parser.add_argument("--classes-per-step", type=int, default=64, help="tafenet: 0 = all seen classes (the paper's)")
    parser.add_argument("--task-units", type=int, default=None, help="tafenet: width of T (default: --hidden)")
    parser.add_argument("--initialization", choices=("glorot", "reference"), default="glorot",
                        help="tafenet: reference = the authors' N(0, 0.001) / N(0, 0.01)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--critic-steps", type=int, default=5, help="clswgan: critic updates per generator update")
    parser.add_argument("--lr", type=float, default=None, help="default 1e-3 (clswgan: 1e-4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr-drops", type=int, nargs="*", default=[],
                        help="tafenet: epochs at which the learning rates drop by 10x (the paper: 30 45 of 60)")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="validation: train on part of the seen classes and score on held-out seen classes "
                             "(kzoo.zsl.validation_data, split by --seed), for choosing a recipe; the real unseen "
                             "classes are never touched")
    parser.add_argument("--gamma", type=float, default=None,
                        help="eszsl: feature-side regularizer (default: gamma and lambda chosen on held-out seen classes)")
    parser.add_argument("--lam", type=float, default=1.0, help="eszsl with --gamma: description-side regularizer")
    parser.add_argument("--name", default=None, help="result file name (default from the settings)")
    parser.add_argument("--generator-activation", default="relu", help='"relu" (default) or "linear"')
    parser.add_argument("--task-normalization", choices=("batch", "none"), default="batch",
                        help="tafenet: BatchNorm in the task network T (the authors' code) or none")
    parser.add_argument("--task-activation", choices=("relu", "linear"), default="relu",
                        help="tafenet: a ReLU MLP for T (the paper's) or an affine T")
    parser.add_argument("--classification-loss", choices=("binary", "softmax"), default="binary",
                        help="tafenet: eq. (5)'s binary cross-entropy or a softmax over the step's classes")
    parser.add_argument("--task-lr-multiplier", type=float, default=0.1,
                        help="tafenet: T's learning rate relative to the rest (the paper's 0.1)")
    parser.add_argument("--positive-weight", type=float, default=1.0,
                        help="weight of matching pairs in eq. (6); the authors' code uses num_classes - 1")
    args = parser.parse_args(argv)
    clswgan = args.method == "clswgan"
    args.beta = (0.01 if clswgan else 0.1) if args.beta is None else args.beta
    args.hidden = (4096 if clswgan else 256) if args.hidden is None else args.hidden
    args.lr = (1e-4 if clswgan else 1e-3) if args.lr is None else args.lr

    from kzoo import zsl
    from kzoo.applications.tafenet import recipe
    from kzoo.files import write_json

    data = zsl.glyph_compositions(verbose=1)
    tasks = recipe.class_descriptions(data, args.tasks)
    if args.split == "validation":
        if args.calibrate:
            parser.error("--calibrate chooses its gamma on validation already; use it with --split test")
        data = zsl.validation_data(data, descriptions=tasks, seed=args.seed)
        tasks = tasks[data.extra["source_classes"]]
    result = {"method": args.method, "tasks": args.tasks, "epochs": args.epochs, "seed": args.seed,
              "split": args.split, "data": repr(data), "command": "python " + " ".join(shlex.quote(a) for a in
                                                                 [sys.argv[0], *(argv or sys.argv[1:])])}
    if args.calibrate:
        result["calibration"] = calibration(args, data, tasks)
    scorer, record = fit_scorer(args, data, tasks)
    result.update({k: v for k, v in record.items() if v is not None})
    if args.method == "tafenet":
        result.update({"beta": args.beta, "hidden": args.hidden, "classifier_units": args.classifier_units,
                       "classes_per_step": args.classes_per_step, "batch_size": args.batch_size, "lr": args.lr,
                       "task_units": args.task_units or args.hidden, "initialization": args.initialization,
                       "generator_activation": args.generator_activation, "positive_weight": args.positive_weight,
                       "task_normalization": args.task_normalization,
                       "classification_loss": args.classification_loss,
                       "task_lr_multiplier": args.task_lr_multiplier, "lr_drops": args.lr_drops,
                       "task_activation": args.task_activation})
    elif args.method in ("bilinear", "clswgan"):
        result.update({"batch_size": args.batch_size, "lr": args.lr}
                      | ({"hidden": args.hidden, "classification_weight": args.beta,
                         "critic_steps": args.critic_steps} if args.method == "clswgan" else {}))
    result.update(recipe.score_scorer(scorer, data, seed=args.seed,
                                      calibration=result.get("calibration", {}).get("gamma")))
    print(json.dumps({k: v for k, v in result.items() if k not in ("training", "history")}, indent=2))
    name = args.name or f"{args.method}_{args.tasks}" + (f"_beta{args.beta:g}" if args.method == "tafenet" else "")
    write_json(Path(args.out) / f"{name}.json", result)
    return result


if __name__ == "__main__":
    main()
