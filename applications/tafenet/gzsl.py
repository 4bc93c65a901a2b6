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

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def bilinear_baseline(data, tasks, epochs, seed, lr=1e-3, batch_size=64):
    """ALE/DeViSE-style bilinear compatibility F(x, c) = x W a_c, softmax over the seen classes."""
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
    return lambda features: np.asarray(w(features)) @ tasks.T


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", choices=("tafenet", "bilinear", "eszsl"), default="tafenet")
    parser.add_argument("--tasks", choices=("attributes", "onehot"), default="attributes")
    parser.add_argument("--beta", type=float, default=0.1, help="embedding loss weight (eq. 5)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--classifier-units", type=int, default=128)
    parser.add_argument("--classes-per-step", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gamma", type=float, default=None,
                        help="eszsl: feature-side regularizer (default: gamma and lambda chosen on held-out seen classes)")
    parser.add_argument("--lam", type=float, default=1.0, help="eszsl with --gamma: description-side regularizer")
    parser.add_argument("--name", default=None, help="result file name (default from the settings)")
    parser.add_argument("--generator-activation", default="relu", help='"relu" (default) or "linear"')
    parser.add_argument("--positive-weight", type=float, default=1.0,
                        help="weight of matching pairs in eq. (6); the authors' code uses num_classes - 1")
    args = parser.parse_args(argv)

    import keras

    from kzoo import zsl
    from kzoo.applications import TAFENet
    from kzoo.applications.tafenet import recipe
    from kzoo.files import write_json

    data = zsl.glyph_compositions(verbose=1)
    tasks = recipe.class_descriptions(data, args.tasks)
    result = {"method": args.method, "tasks": args.tasks, "epochs": args.epochs, "seed": args.seed,
              "data": repr(data), "command": "python " + " ".join(shlex.quote(a) for a in
                                                                 [sys.argv[0], *(argv or sys.argv[1:])])}
    if args.method == "bilinear":
        scorer = bilinear_baseline(data, tasks, args.epochs, args.seed)
    elif args.method == "eszsl":
        x, y = data.split("trainval")
        if args.gamma is None:  # the paper's protocol: chosen on held-out seen classes
            eszsl, result["selection"] = zsl.ESZSL.select(x, y, tasks, data.seen_classes, seed=args.seed)
        else:
            eszsl = zsl.ESZSL(gamma=args.gamma, lam=args.lam).fit(x, y, tasks, classes=data.seen_classes)
        result.update({"gamma": eszsl.gamma, "lam": eszsl.lam})

        def scorer(features):
            return eszsl.scores(features, tasks)
    else:
        keras.utils.set_random_seed(args.seed)
        model = TAFENet(feature_dim=data.feature_dim, task_dim=tasks.shape[1], hidden_units=(args.hidden,) * 3,
                        task_units=args.hidden, classifier_units=args.classifier_units, embedding_loss_weight=args.beta,
                        classes_per_step=args.classes_per_step,
                        generator_activation=None if args.generator_activation == "linear"
                        else args.generator_activation,
                        embedding_positive_weight=args.positive_weight)
        model.compile(keras.optimizers.Adam(args.lr))
        result["training"] = recipe.train(model, data, args.tasks, epochs=args.epochs, batch_size=args.batch_size,
                                          seed=args.seed)
        result.update({"beta": args.beta, "hidden": args.hidden, "classifier_units": args.classifier_units,
                       "classes_per_step": args.classes_per_step, "batch_size": args.batch_size, "lr": args.lr,
                       "generator_activation": args.generator_activation,
                       "positive_weight": args.positive_weight})

        def scorer(features):
            return model.predict(features, tasks=tasks, batch_size=64, verbose=0)
    result.update(recipe.score_scorer(scorer, data, seed=args.seed))
    print(json.dumps({k: v for k, v in result.items() if k != "training"}, indent=2))
    name = args.name or f"{args.method}_{args.tasks}" + (f"_beta{args.beta:g}" if args.method == "tafenet" else "")
    write_json(RESULTS / f"{name}.json", result)
    return result


if __name__ == "__main__":
    main()
