"""Is AMAZ's linear SVM under-trained? kzoo's SVM trained ever longer, beside the softmax, on one synthetic set.

    python applications/amaz/svm_convergence.py            # the preset amaz/glyphs_zsl, ~5 minutes

The preset synthesizes 100 features per unseen class (ZSL, as `recipe.evaluate` does,
seed 0). On that one training set, kzoo's one-vs-rest squared-hinge SVM
(`kzoo.applications.amaz.linear_svm`) is trained for 30 epochs (the default) and for 10x
and 100x as long, and the softmax classifier (the default) for its 20 epochs. For each:
the SVM objective (squared hinge + L2) it reaches, its accuracy on the synthetic features
it was trained on, and its per-class top-1 on the real test features of the unseen
classes. If the SVM were under-trained, training it longer would lower its objective and
raise its test accuracy. Writes `applications/amaz/results/svm_convergence.json`.
"""

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def svm_objective(model, values, labels, num_classes, regularization=1e-4):
    """`linear_svm`'s loss, mean_i mean_c max(0, 1 - t_ic f_c(x_i))^2 + regularization ||W||^2, from its decision
    values `[M, num_classes]` on the training features."""
    values = np.asarray(values, np.float64)
    targets = np.where(np.arange(num_classes)[None] == labels[:, None], 1.0, -1.0)
    hinge = np.mean(np.square(np.maximum(0.0, 1.0 - targets * values)))
    kernel = model.layers[-1].kernel.numpy()
    return float(hinge + regularization * np.sum(np.square(kernel)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="amaz/glyphs_zsl")
    parser.add_argument("--epochs", type=int, nargs="+", default=[30, 300, 3000],
                        help="SVM training epochs (default: 30, the default, then 10x and 100x)")
    parser.add_argument("--out", default=str(HERE / "results" / "svm_convergence.json"))
    args = parser.parse_args(argv)

    from kzoo.applications import from_preset
    from kzoo.applications.amaz import linear_svm, softmax_classifier
    from kzoo.applications.amaz.evaluation import synthetic_training_set
    from kzoo.files import write_json
    from kzoo.metrics import class_accuracies, mean_confidence_interval
    from kzoo.zsl.evaluation import load

    model = from_preset(args.preset)
    data = load("glyph_compositions")
    scale = float(model.preset_metadata["training"]["feature_scale"])  # the features it was trained on
    unseen = np.asarray(data.unseen_classes)
    test_x, test_y = data.split("test_unseen")
    test_x = np.asarray(test_x / scale, np.float32)
    index = {c: i for i, c in enumerate(unseen.tolist())}
    test_y = np.array([index[c] for c in test_y.tolist()])
    features, labels, _ = synthetic_training_set(model, data.attributes, unseen, 100, seed=0)
    features = np.asarray(features, np.float32)
    labels = np.asarray(labels)

    def scores(classifier, train_values):
        train = float(np.mean(np.asarray(train_values).argmax(-1) == labels))
        predicted = np.asarray(classifier.predict(test_x, batch_size=4096, verbose=0)).argmax(-1)
        accuracies, mean = class_accuracies(test_y, predicted, unseen.size)
        return {"synthetic_train_accuracy": round(train, 4), "real_unseen_top1": round(float(mean), 4),
                "real_unseen_top1_ci95": round(mean_confidence_interval(accuracies[np.isfinite(accuracies)])[1], 4)}

    rows = []
    softmax = softmax_classifier(features, labels, unseen.size, epochs=20, batch_size=128, seed=0)
    rows.append({"classifier": "softmax", "epochs": 20,
                 **scores(softmax, softmax.predict(features, batch_size=4096, verbose=0))})
    print(json.dumps(rows[-1]), flush=True)
    for epochs in args.epochs:
        svm = linear_svm(features, labels, unseen.size, epochs=epochs, batch_size=256, seed=0)
        values = svm.predict(features, batch_size=4096, verbose=0)
        rows.append({"classifier": "svm", "epochs": epochs,
                     "svm_objective": round(svm_objective(svm, values, labels, unseen.size), 6),
                     **scores(svm, values)})
        print(json.dumps(rows[-1]), flush=True)
    write_json(args.out, {"preset": args.preset, "data": repr(data), "synthetic_per_class": 100, "seed": 0,
                          "unseen_classes": int(unseen.size), "test_unseen_images": int(test_y.size),
                          "command": "python applications/amaz/svm_convergence.py", "rows": rows})


if __name__ == "__main__":
    main()
