"""Dynamic per-input channel sparsity (TAFE-Net Sections 3.4/4.4, Figure 5) on glyph classification.

    nice -n 5 python applications/tafenet/sparsity.py --betas 0 0.01 0.03 0.1 0.3 --epochs 12

Data: `episodes.glyphs(max_classes=200)` (200 characters of 15 scripts, 20 renderings
each); per class 15 images train, 5 test (fixed by seed 0). For each beta (L1 weight
of eq. (7)) a `DynamicTAFENet` is trained; we report test accuracy and the prediction
network's multiply-accumulates saved per image (meta-learner cost included), and plot
accuracy vs FLOPs saved to results/sparsity.png.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--betas", type=float, nargs="+", default=[0.0, 0.01, 0.03, 0.1, 0.3])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--classes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kzoo import episodes
    from kzoo.applications.tafenet.dynamic import DynamicTAFENet

    src = episodes.glyphs(max_classes=args.classes)
    rng = np.random.default_rng(args.seed)
    test = np.zeros(len(src.labels), bool)
    for c in range(src.num_classes):
        rows = np.arange(src.offsets[c], src.offsets[c + 1])
        test[rng.choice(rows, 5, replace=False)] = True
    x = src.images.astype("float32") / 255.0
    rows = []
    for beta in args.betas:
        keras.utils.set_random_seed(args.seed)
        model = DynamicTAFENet(src.num_classes, image_shape=src.image_shape, beta=beta)
        model.compile()
        start = time.time()
        model.fit(x[~test], src.labels[~test], batch_size=64, epochs=args.epochs, shuffle=True, verbose=2)
        logits = model.predict(x[test], batch_size=256, verbose=0)
        accuracy = float(np.mean(np.argmax(logits, 1) == src.labels[test]))
        dynamic, full = model.flops(x[test])
        # per-input behaviour: channels on for some test images and off for others
        on = np.concatenate([np.asarray(g) > 0 for g in model.factors(x[test])[1]], axis=1)
        varying = float(np.mean(on.any(0) & ~on.all(0)))
        rows.append({"beta": beta, "test_accuracy": round(accuracy, 4),
                     "flops_saved": round(float(1 - dynamic.mean() / full), 4),
                     "mean_macs_per_image": round(float(dynamic.mean())), "full_macs": round(full),
                     "macs_per_image_p5_p95": [round(float(v)) for v in np.percentile(dynamic, [5, 95])],
                     "channels_always_on": round(float(np.mean(on.all(0))), 4),
                     "channels_input_dependent": round(varying, 4),
                     "train_seconds": round(time.time() - start, 1)})
        print(json.dumps(rows[-1]), flush=True)
    n = int(test.sum())
    result = {"data": repr(src), "split": f"per class 15 train / 5 test images (seed {args.seed}), {n} test images",
              "epochs": args.epochs, "rows": rows,
              "command": "python " + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv or sys.argv[1:]))}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sparsity.json").write_text(json.dumps(result, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([100 * r["flops_saved"] for r in rows], [100 * r["test_accuracy"] for r in rows], "o-")
    for r in rows:
        ax.annotate(f"beta={r['beta']:g}", (100 * r["flops_saved"], 100 * r["test_accuracy"]), fontsize=8)
    ax.set_xlabel("prediction-network FLOPs saved per image (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"DynamicTAFENet, glyphs {src.num_classes}-way")
    fig.tight_layout()
    fig.savefig(RESULTS / "sparsity.png", dpi=120)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
