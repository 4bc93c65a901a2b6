"""Train AMAZ (or a Table IV / ZSML-like variant) and score ZSL, GZSL and retrieval.

    python applications/amaz/reproduce.py --variant amaz --steps 600 \
        --out applications/amaz/results/amaz.json [--preset saved_models/amaz/glyphs_zsl]
    python applications/amaz/reproduce.py --xlsa17 path/to/xlsa17/data/AWA2 --variant amaz ...

Data: the built-in compositional glyph set (`kzoo.zsl.glyph_compositions()`), or an
xlsa17 directory (res101.mat + att_splits.mat). Training: Algorithm 1 on 10-way
5-shot support / 10-way 3-shot query tasks of the seen (trainval) classes, 10 tasks
per batch. Evaluation: ZSL on test_unseen (4 final classifiers, 100 synthetic
features per unseen class), GZSL on test_seen + test_unseen (synthetic features for
every class), retrieval precision@5/@10 from the mean of 100 synthetic features.
"""

import argparse
import json
import os
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# variant -> AMAZ keyword arguments (Table IV rows use the paper's order)
VARIANTS = {
    "amaz": {},
    "zsml": {"modulate": False},
    "t4_w": {"modulator_base": False, "modulator_operator": None, "modulator_activation": None,
             "modulator_bias": False},
    "t4_sigmoid_w": {"modulator_base": False, "modulator_operator": None, "modulator_bias": False},
    "t4_softmax_w": {"modulator_base": False, "modulator_operator": None, "modulator_activation": "softmax",
                     "modulator_bias": False},
    "t4_base_plus_sigmoid": {"modulator_bias": False},
    "t4_base_minus_sigmoid": {"modulator_operator": "-", "modulator_bias": False},
    "t4_base_plus_softmax": {"modulator_activation": "softmax", "modulator_bias": False},
    "t4_base_minus_softmax": {"modulator_operator": "-", "modulator_activation": "softmax", "modulator_bias": False},
    "t4_eq3": {},  # = amaz: base, +, sigmoid, bias
}

# the glyph preset's network sizes (the paper's 2048-wide nets are for 2048-d ResNet features)
GLYPH_SIZES = dict(generator_units=(256, 256, 256), embedding_dim=128, discriminator_units=(256, 128),
                   classifier_units=(128, 128), decoder_units=(256, 128))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="amaz", choices=sorted(VARIANTS))
    parser.add_argument("--xlsa17", help="an xlsa17 dataset directory (default: the built-in glyph set)")
    parser.add_argument("--steps", type=int, default=600, help="meta-iterations (default 600)")
    parser.add_argument("--ways", type=int, default=10)
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--queries", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--meta-lr", type=float, nargs=3, default=(1e-3, 1e-3, 1e-3),
                        help="beta_1..3 (the paper: 1e-3 1e-5 1e-5 over 15-25k iterations)")
    parser.add_argument("--inner-lr", type=float, nargs=3, default=(1e-3, 1e-3, 1e-3), help="alpha_1..3")
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--output-activation", default="relu",
                        help="G's output activation (default relu: the features are post-ReLU, >= 0; 'linear' = none)")
    parser.add_argument("--modulation-scope", default="task", choices=("task", "class"),
                        help="AP's attribute set in training: the task's N classes (eq. 1) or each sample's class")
    parser.add_argument("--modulator-objective", default="gc", choices=("ad", "gc"),
                        help="loss of (AP, AM, AD): L_GC (eq. 8, the default) or L_AD (Algorithm 1)")
    parser.add_argument("--modulator-initialization", default="identity", choices=("identity", "zeros"),
                        help="modulators start near o' = o (default), or with zero logits (eq. 3: 1.5 o + 0.5)")
    parser.add_argument("--synthesis-sigma", type=float, default=0.1,
                        help="noise std at synthesis (default 0.1 = the training sigma; the paper: 1)")
    parser.add_argument("--paper-sizes", action="store_true", help="the supplementary's 2048-wide networks")
    parser.add_argument("--zsl-per-class", type=int, default=100)
    parser.add_argument("--gzsl-per-class", type=int, default=100, help="(the paper: 300)")
    parser.add_argument("--no-gzsl", action="store_true")
    parser.add_argument("--classifiers", nargs="+", default=["softmax", "weighted_softmax", "svm", "weighted_svm"],
                        help="ZSL final classifiers (Table IV uses svm)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="JSON file for the scores")
    parser.add_argument("--tensorboard", help="TensorBoard log folder")
    parser.add_argument("--preset", help="also save the trained model as a preset folder")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from kzoo import zsl
    from kzoo.applications import AMAZ
    from kzoo.applications.amaz import (SyntheticFeatureProjection, gzsl_scores, retrieval_precision,
                                        zero_shot_tasks, zsl_scores)
    from kzoo.files import write_json

    keras.utils.set_random_seed(args.seed)
    data = zsl.load_xlsa17(args.xlsa17) if args.xlsa17 else zsl.glyph_compositions(verbose=0)
    train_x, train_y = data.split("trainval")
    seen_x, seen_y = data.split("test_seen")
    unseen_x, unseen_y = data.split("test_unseen")
    seen, unseen = np.asarray(data.seen_classes), np.asarray(data.unseen_classes)
    # features / (max over trainval), as f-CLSWGAN's MinMax scaling: with the raw glyph
    # features (values up to 13) the support-set SGD steps diverged to NaN within 40 iterations
    scale = float(train_x.max())
    train_x, seen_x, unseen_x = train_x / scale, seen_x / scale, unseen_x / scale
    sizes = {} if args.paper_sizes else GLYPH_SIZES
    model = AMAZ(feature_dim=data.feature_dim, attribute_dim=data.attribute_dim, num_classes=seen.size,
                 dropout=args.dropout, inner_learning_rates=args.inner_lr, meta_learning_rates=args.meta_lr,
                 seed=args.seed, synthesis_sigma=args.synthesis_sigma, modulation_scope=args.modulation_scope,
                 modulator_objective=args.modulator_objective,
                 modulator_initialization=args.modulator_initialization,
                 output_activation=None if args.output_activation == "linear" else args.output_activation,
                 **sizes, **VARIANTS[args.variant])
    model.compile()
    tasks = zero_shot_tasks(train_x, train_y, data.attributes, seen, ways=args.ways, shots=args.shots,
                            queries=args.queries, tasks=args.tasks, seed=args.seed)
    callbacks = []
    if args.tensorboard:
        callbacks = [keras.callbacks.TensorBoard(args.tensorboard, update_freq=20),
                     SyntheticFeatureProjection(args.tensorboard, data.attributes[unseen[:10]],
                                                [data.class_names[c] for c in unseen[:10]], per_class=50,
                                                every=max(1, args.steps // 100 // 5))]
    start = time.perf_counter()
    epochs = max(1, args.steps // 100)
    history = model.fit(tasks, steps_per_epoch=args.steps // epochs, epochs=epochs, callbacks=callbacks, verbose=2)
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    results = {
        "command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
        "data": repr(data), "variant": args.variant, "model_kwargs": VARIANTS[args.variant],
        "feature_scale": scale, "steps": args.steps, "train_seconds": round(train_seconds, 1),
        "history": {k: [round(float(x), 4) for x in v] for k, v in history.history.items()},
        "zsl": zsl_scores(model, unseen_x, unseen_y, data.attributes, unseen, num_per_class=args.zsl_per_class,
                          kinds=args.classifiers, seed=args.seed, batch_size=256),
        "retrieval": retrieval_precision(model, unseen_x, unseen_y, data.attributes, unseen, seed=args.seed),
    }
    if not args.no_gzsl:
        results["gzsl"] = gzsl_scores(model, seen_x, seen_y, unseen_x, unseen_y, data.attributes, seen, unseen,
                                      num_per_class=args.gzsl_per_class, seed=args.seed, batch_size=512)
    results["eval_seconds"] = round(time.perf_counter() - start, 1)
    summary = {k: round(v, 4) for k, v in results["zsl"].items() if isinstance(v, float)}
    print(json.dumps({"zsl": summary, "retrieval": results["retrieval"], "gzsl": results.get("gzsl")}))
    write_json(args.out, results)
    if args.preset:
        model.save_to_preset(args.preset, {
            "description": "AMAZ on the built-in compositional glyph zero-shot set (kzoo.zsl.glyph_compositions)",
            "command": results["command"], "data_spec": "glyph_compositions", "data": results["data"],
            "feature_backbone": data.extra.get("backbone"),
            "evaluation": {"zsl": summary, "zsl_ci95": results["zsl"]["ci95"], "retrieval": results["retrieval"],
                           "gzsl": results.get("gzsl"),
                           "zsl_per_class": args.zsl_per_class, "seed": args.seed, "feature_scale": scale,
                           "unseen_classes": int(unseen.size), "test_unseen_samples": int(unseen_y.size)},
        }, overwrite=True)


if __name__ == "__main__":
    main()
