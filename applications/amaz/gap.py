"""Why AMAZ trails f-CLSWGAN: each generator scored under both final-classifier protocols.

    python applications/amaz/gap.py --model amaz --width 512 --seed 0
    python applications/amaz/gap.py --model clswgan_matched --width 512 --seed 1

AMAZ's README scores AMAZ with its protocol and f-CLSWGAN with f-CLSWGAN's, and the two
differ in more than the generator:

- protocol `amaz` (`kzoo.applications.amaz.zsl_scores`): a 512-unit MLP softmax
  trained on 100 synthetic features per unseen class, nothing else;
- protocol `clswgan` (`kzoo.zsl.CLSWGAN.classifier`, the f-CLSWGAN paper's): a linear
  softmax over all classes trained on 300 synthetic features per unseen class and the
  real trainval features of the seen classes, read on the unseen classes' columns.

Each run trains one generator on the glyph set's trainval split and scores it both
ways on test_unseen (per-class top-1 and its 95% interval over the 173 classes):

- `amaz`: AMAZ (eq. 3), the preset's settings (`variant.PRESET_SETTINGS`) at `--width`,
  2,000 meta-iterations;
- `zsml`: the same without modulation;
- `amaz_pretrained_classifier`, `zsml_pretrained_classifier`: the same two with C
  pretrained on the real trainval features and frozen (`classifier_training="pretrained"`,
  f-CLSWGAN's classifier) instead of trained with G on G's features (eq. 7);
- `clswgan`: f-CLSWGAN with `hidden=--width` and its paper's schedule (30 epochs, 5
  critic steps per generator step);
- `clswgan_matched`: the same on AMAZ's budget: as many generator steps as AMAZ's
  2,000 meta-iterations, one critic step each;
- `clswgan_no_classifier`: f-CLSWGAN without its classification loss (beta = 0).

Each run also records how well the classifier behind the generator's classification
loss classifies the real test_seen features (per-class top-1 over the 519 seen classes):
AMAZ's C is trained with G on synthetic features only (eq. 7); f-CLSWGAN's is a softmax
pretrained on the real trainval features and frozen.

Writes results/gap/<model>_width<W>_seed<k>.json; `report.py --write` puts the table in the README.
"""

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from kzoo.zsl.clswgan import linear_softmax

HERE = Path(__file__).resolve().parent
MODELS = ("amaz", "zsml", "amaz_pretrained_classifier", "zsml_pretrained_classifier", "clswgan", "clswgan_matched",
          "clswgan_no_classifier")
META_ITERATIONS = 2000


def per_class(true, predicted, classes):
    """Per-class top-1 of the predicted classes (some of `classes`) and its 95% interval over them (fractions)."""
    from kzoo.metrics import class_accuracies, mean_confidence_interval

    accuracies, mean = class_accuracies(np.searchsorted(classes, true), np.searchsorted(classes, predicted),
                                        classes.size)
    return {"top1": round(float(mean), 4), "ci95": round(float(mean_confidence_interval(accuracies)[1]), 4)}


def modulation_tests(model, data, scale, seed):
    """AMAZ-protocol ZSL top-1 when each unseen class is synthesized under another class's modulation.

    - `own`: eq. (1) on the class itself, as `AMAZ.synthesize`;
    - `shuffled`: under the modulation of another unseen class (a fixed derangement);
    - `mean_seen`: under one modulation for all, the mean embedding of the seen classes.
    If modulation carried class information G uses, `shuffled` would fall below `own`.
    """
    import tensorflow as tf

    unseen = np.asarray(data.unseen_classes)
    attributes = np.asarray(data.attributes, np.float32)
    embed = lambda a: model.task_embedding(tf.constant(a[:, None, :]), training=False)
    own = embed(attributes[unseen])
    rng = np.random.default_rng(seed)
    permutation = (np.arange(unseen.size) + rng.integers(1, unseen.size)) % unseen.size  # no class keeps its own
    embeddings = {"own": own, "shuffled": tf.gather(own, permutation),
                  "mean_seen": tf.repeat(tf.reduce_mean(embed(attributes[data.seen_classes]), 0, keepdims=True),
                                         unseen.size, 0)}
    noise = model.synthesis_sigma * tf.random.stateless_normal([unseen.size * 100, model.noise_dim], [seed, 7])
    rows = np.repeat(np.arange(unseen.size), 100)
    results = {}
    for name, embedding in embeddings.items():
        features = model.generate(noise[:, None, :], tf.constant(attributes[unseen][rows][:, None, :]),
                                  tf.gather(embedding, rows), training=False)[:, 0, :]
        results[name] = score(lambda a, n, f=features.numpy() * scale: (f, rows), data, seed, protocols=("amaz",))
    return results


def classifier_on_real(classify, data):
    """Per-class top-1 over the seen classes of `classify(features [B, F]) -> logits [B, S]` on real test_seen."""
    seen = np.asarray(data.seen_classes)
    x, y = data.split("test_seen")
    logits = np.asarray(classify(x.astype("float32")))
    return per_class(y, seen[logits.argmax(-1)], seen)


def score(synthesize, data, seed, protocols=("amaz", "clswgan")):
    """Both protocols for `synthesize(attributes [C, A], n) -> (features [C n, F] in raw units, rows [C n])`."""
    from kzoo.applications.amaz.classifiers import softmax_classifier
    from kzoo.applications.amaz.recipe import feature_scale

    scale = feature_scale(data)
    unseen = np.asarray(data.unseen_classes)
    x, y = data.split("trainval")
    test_x, test_y = data.split("test_unseen")
    features, rows = synthesize(data.attributes[unseen], 100)
    mlp = softmax_classifier(np.asarray(features) / scale, rows, unseen.size, seed=seed)
    predicted = unseen[np.asarray(mlp.predict(test_x / scale, batch_size=4096, verbose=0)).argmax(-1)]
    result = {"amaz": per_class(test_y, predicted, unseen)}
    if "clswgan" not in protocols:
        return result
    features, rows = synthesize(data.attributes[unseen], 300)
    linear = linear_softmax(np.concatenate([features, x]), np.concatenate([unseen[rows], y]),
                            data.attributes.shape[0], seed + 1)
    logits = np.asarray(linear.predict(test_x.astype("float32"), batch_size=4096, verbose=0))
    result["clswgan"] = per_class(test_y, unseen[logits[:, unseen].argmax(-1)], unseen)
    return result


def train(model_name, data, width, seed):
    """Trains `model_name`; returns (synthesize in raw feature units, training record)."""
    import keras

    from kzoo import zsl
    from kzoo.applications import AMAZ
    from kzoo.applications.amaz import recipe

    sys.path.insert(0, str(HERE))
    from variant import PRESET_SETTINGS

    start = time.perf_counter()
    if model_name.startswith(("amaz", "zsml")):
        keras.utils.set_random_seed(seed)
        model = AMAZ(feature_dim=data.feature_dim, attribute_dim=data.attribute_dim,
                     num_classes=int(data.seen_classes.size), seed=seed, modulate=model_name.startswith("amaz"),
                     classifier_training="pretrained" if model_name.endswith("_pretrained_classifier") else "joint",
                     **PRESET_SETTINGS, **recipe.glyph_sizes(width))
        model.compile()
        record = recipe.train(model, data, steps=META_ITERATIONS, seed=seed)
        scale = record.pop("feature_scale")
        record = {"meta_iterations": META_ITERATIONS, "history": record["history"],
                  "classifier_on_real_test_seen": classifier_on_real(lambda f: model.classify(f / scale), data)}

        def synthesize(attributes, n):
            features, rows = model.synthesize(attributes, n, seed=seed)
            return np.asarray(features) * scale, np.asarray(rows)

        if model.modulate:
            record["modulation_tests"] = modulation_tests(model, data, scale, seed)
    else:
        x, y = data.split("trainval")
        matched = model_name == "clswgan_matched"
        per_epoch = x.shape[0] // 64
        epochs = int(np.ceil(META_ITERATIONS / per_epoch)) if matched else 30
        model = zsl.CLSWGAN(hidden=width, epochs=epochs, critic_steps=1 if matched else 5, seed=seed,
                            classification_weight=0.0 if model_name == "clswgan_no_classifier" else 0.01)
        model.fit(x, y, data.attributes, classes=data.seen_classes, verbose=2)
        record = {"epochs": epochs, "critic_steps": model.critic_steps, "generator_steps": epochs * per_epoch,
                  "critic_updates": epochs * per_epoch * model.critic_steps,
                  "classification_weight": model.classification_weight}
        if model.classification_weight:  # the classifier of its loss: the same training on the real features
            pretrained = linear_softmax(x, np.searchsorted(data.seen_classes, y), data.seen_classes.size, seed)
            record["classifier_on_real_test_seen"] = classifier_on_real(pretrained, data)

        def synthesize(attributes, n):
            features, rows = model.synthesize(attributes, n, seed=seed)
            return np.asarray(features), np.asarray(rows)
    record["seconds"] = round(time.perf_counter() - start, 1)
    return synthesize, record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=MODELS)
    parser.add_argument("--width", type=int, default=512, help="G's units / f-CLSWGAN's hidden (default 512)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="JSON file (default results/gap/<model>_width<W>_seed<k>.json)")
    args = parser.parse_args(argv)

    from kzoo.files import write_json
    from kzoo.zsl import glyph_compositions

    data = glyph_compositions()
    synthesize, record = train(args.model, data, args.width, args.seed)
    result = {"command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
              "data": repr(data), "model": args.model, "width": args.width, "seed": args.seed,
              "training": record, "zsl": score(synthesize, data, args.seed)}
    print(args.model, args.width, args.seed, result["zsl"])
    out = args.out or HERE / "results" / "gap" / f"{args.model}_width{args.width}_seed{args.seed}.json"
    write_json(out, result)


if __name__ == "__main__":
    main()
