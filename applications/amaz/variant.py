"""One AMAZ row of the README for one seed: AMAZ (eq. 3), ZSML-like or a Table IV variant.

    python applications/amaz/variant.py --variant zsml --seed 1 --out applications/amaz/results/zsml_seed1.json
    python applications/amaz/variant.py --variant t4_w --no-gzsl --out applications/amaz/results/t4_w_seed0.json

Every row shares the settings of the `amaz/glyphs_zsl` preset (`PRESET_SETTINGS`, the
glyph sizes of `kzoo.applications.amaz.recipe.GLYPH_SIZES`; `amaz` is that model) and
changes only the modulator.
"""

import argparse
import shlex
import sys

# variant -> AMAZ keyword arguments (Table IV rows in the paper's order)
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
}
#: the preset's settings (reproduce.sh passes the same to `kzoo fit amaz --set`)
PRESET_SETTINGS = {"dropout": 0.0, "synthesis_sigma": 0.1, "output_activation": "relu",
                   "meta_learning_rates": (1e-3, 1e-3, 1e-3)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    parser.add_argument("--data", default="glyph_compositions", help="glyph_compositions or xlsa17:DIR")
    parser.add_argument("--steps", type=int, default=2000, help="meta-iterations (default 2000)")
    parser.add_argument("--no-gzsl", action="store_true")
    parser.add_argument("--classifiers", nargs="+", default=["softmax", "weighted_softmax"],
                        help="ZSL final classifiers (default: the two softmax ones; svm and weighted_svm on request)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--inner-clipnorm", default="10",
                        help='global norm each support-set step is clipped to (default 10, AMAZ\'s); "none": '
                             "the paper's plain step")
    parser.add_argument("--width", type=int, default=256,
                        help="glyph data: the generator's units, every network scaled with it "
                             "(recipe.glyph_sizes; default 256, the preset's)")
    parser.add_argument("--out", required=True, help="JSON file for the scores")
    args = parser.parse_args(argv)

    import keras

    from kzoo.applications import AMAZ
    from kzoo.applications.amaz import recipe
    from kzoo.files import write_json
    from kzoo.zsl.evaluation import load

    data = load(args.data)
    keras.utils.set_random_seed(args.seed)
    sizes = recipe.glyph_sizes(args.width) if args.data == "glyph_compositions" else {}
    model = AMAZ(feature_dim=data.feature_dim, attribute_dim=data.attribute_dim,
                 num_classes=int(data.seen_classes.size), seed=args.seed, **PRESET_SETTINGS, **sizes,
                 inner_clipnorm=None if args.inner_clipnorm.lower() == "none" else float(args.inner_clipnorm),
                 **VARIANTS[args.variant])
    model.compile()
    result = {"command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
              "data": repr(data), "variant": args.variant, "model_kwargs": VARIANTS[args.variant],
              "generator_units": list(model.generator_units),
              "inner_clipnorm": model.inner_clipnorm}
    try:
        result["training"] = recipe.train(model, data, steps=args.steps, seed=args.seed)
    except FloatingPointError as error:  # a diverged variant is a result (Table IV has three), not a crash
        result["diverged"] = str(error)
        print(f"{args.variant}: {error}")
        write_json(args.out, result)
        return
    scores = recipe.evaluate(model, data, scale=result["training"]["feature_scale"], classifiers=args.classifiers,
                             gzsl=not args.no_gzsl, seed=args.seed)
    result["evaluation"] = scores
    print({k: scores[k] for k in ("zsl", "retrieval")})
    write_json(args.out, result)


if __name__ == "__main__":
    main()
