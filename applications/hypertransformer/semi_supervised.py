"""Semi-supervised HyperTransformer on Omniglot: 20-way 1-shot plus u unlabeled samples per class.

    python applications/hypertransformer/semi_supervised.py            # u = 0, 2 and 4
    python applications/hypertransformer/semi_supervised.py --unlabeled 2 --warmup-steps 0
    python applications/hypertransformer/semi_supervised.py --report  # the README table from results/
    python applications/hypertransformer/semi_supervised.py --feature-check  # soft k-means in HT's features

Same recipe as the supervised `ht_logits_8ch_1shot` run of reproduce.sh (8 channels,
logits generated, 70/10/20 alphabet split seed 0, 20-way 1-shot 5 queries, T=4, 3,000
steps, Adam 1e-3 reached by a linear warm-up over the first 1,000 steps, rotations),
with u extra support samples per class labelled -1 in training and at test time.
Unlabeled tokens are introduced incrementally (Section 5.3): `UnlabeledDropSchedule`
masks a random fraction p ~ U(0, m) of them per task, with m going from 1 to 0 over the
first half of training. `--supervised-steps H` first trains H steps on the same
episodes without their unlabeled samples, then phases them in over half of the rest. Test: 600 episodes (seed 1234, 15 queries per class) of the
held-out alphabet, each with u unlabeled samples per class, scored twice: as drawn, and
with the unlabeled samples removed (the same labelled shots and queries), so the
difference is what the unlabeled samples themselves add. Writes results/semi_u<u>[_supervised<H>].json.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from kzoo import episodes
from kzoo.applications import HyperTransformer
from kzoo.applications.hypertransformer import UnlabeledDropSchedule
from kzoo.files import write_json, write_marked_blocks
from kzoo.training import LinearWarmup, evaluate_episodes, format_score
from kzoo.episodes import split_source

RESULTS = Path(__file__).resolve().parent / "results"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unlabeled", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--warmup-steps", type=int, default=1000, help="linear learning-rate warm-up (0: none)")
    parser.add_argument("--supervised-steps", type=int, default=0,
                        help="train the first steps on episodes without unlabeled samples (default 0)")
    parser.add_argument("--data", default=None, help="Omniglot folder (default: kzoo's default path)")
    parser.add_argument("--report", action="store_true",
                        help="only write the README's table from results/semi_u*.json")
    parser.add_argument("--feature-check", action="store_true",
                        help="only check, in the supervised preset's CNN features, what soft k-means gains from u=4")
    args = parser.parse_args()
    if args.feature_check:
        return feature_check(args.data)
    if args.report:
        print(f"wrote {write_marked_blocks(RESULTS.parent / 'README.md', {'semi': table()}, tag='semi_supervised.py')}")
        return
    source = episodes.omniglot(args.data or episodes.default_omniglot_path())
    train, _, test = split_source(source)
    for u in args.unlabeled:
        keras.utils.set_random_seed(0)
        model = HyperTransformer(num_ways=20, channels=8, generate="logits")
        rate = LinearWarmup(1e-3, args.warmup_steps) if args.warmup_steps else 1e-3
        model.compile(optimizer=keras.optimizers.Adam(rate))
        start = time.perf_counter()
        accuracy = []
        first = args.supervised_steps if u else 0
        if first:  # the supervised phase: the same training episodes, without their unlabeled samples
            history = model.fit(episodes.few_shot(train, 20, 1, 5, tasks=4, rotations=True, seed=0),
                                steps_per_epoch=first // 2, epochs=2, verbose=2)
            accuracy += history.history["accuracy"]
        rest = args.steps - first
        callbacks = [UnlabeledDropSchedule(steps=rest // 2, initial=1.0)] if u else []
        history = model.fit(episodes.few_shot(train, 20, 1, 5, tasks=4, rotations=True, unlabeled=u, seed=1 if first else 0),
                            steps_per_epoch=rest // 4, epochs=4, callbacks=callbacks, verbose=2)
        accuracy += history.history["accuracy"]
        seconds = time.perf_counter() - start
        test_episodes = episodes.few_shot(test, 20, 1, 15, tasks=20, unlabeled=u, seed=1234, batches=30)
        score = evaluate_episodes(model, test_episodes, verbose=0)
        print(f"u={u} unlabeled per class: held-out 20-way 1-shot accuracy {format_score(score)}", flush=True)
        record = {"unlabeled": u, "steps": args.steps, "warmup_steps": args.warmup_steps, "supervised_steps": first,
                  "train_seconds": round(seconds, 1), "train_accuracy_per_epoch": accuracy,
                  "accuracy": score["accuracy"], "ci95": score["ci95"], "episodes": score["episodes"]}
        if u:
            def labelled_only(x, y):
                return without_unlabeled(x, u), y

            labelled = evaluate_episodes(model, test_episodes.map(labelled_only), verbose=0)
            print(f"u={u}, the same episodes without their unlabeled samples: {format_score(labelled)}", flush=True)
            record["without_unlabeled"] = {"accuracy": labelled["accuracy"], "ci95": labelled["ci95"]}
        write_json(RESULTS / (f"semi_u{u}" + (f"_supervised{first}" if first else "") + ".json"), record)


def feature_check(data=None, u=4):
    """Do the unlabeled samples carry usable information in HT's feature space? (an independent computation)

    In the features of the `hypertransformer/omniglot_20way_1shot` CNN (the generated
    model's last block, support statistics of the labelled shots), on the test episodes
    with u unlabeled samples per class: nearest-prototype accuracy from the labelled shot
    alone; after one soft k-means step that adds the unlabeled samples, weighted by
    softmax(-squared distance) (Ren et al., 2018); and with the unlabeled samples' true
    classes (an upper bound). Writes results/semi_feature_check.json.
    """
    model = HyperTransformer.from_preset("omniglot_20way_1shot")
    _, _, test = split_source(episodes.omniglot(data or episodes.default_omniglot_path()))
    scores = {"labelled_shot": [], "soft_kmeans": [], "true_classes": []}
    for x, query_y in episodes.few_shot(test, 20, 1, 15, tasks=20, unlabeled=u, seed=1234, batches=5):
        labelled = without_unlabeled(x, u)
        weights = model.generate_weights(labelled["support_x"], labelled["support_y"])
        support, query = (features(model, images, weights) for images in (x["support_x"], x["query_x"]))
        support_y = x["support_y"].numpy()
        classes = np.repeat(np.arange(20), 1 + u)
        for t in range(support.shape[0]):
            is_labelled = support_y[t] >= 0
            prototypes = support[t][is_labelled][np.argsort(support_y[t][is_labelled])]
            unlabelled = support[t][~is_labelled]
            d = ((unlabelled[:, None] - prototypes[None]) ** 2).sum(-1)
            z = np.exp(-(d - d.min(1, keepdims=True)))
            z /= z.sum(1, keepdims=True)
            refined = (prototypes + z.T @ unlabelled) / (1 + z.sum(0))[:, None]
            oracle = np.stack([support[t][classes == c].mean(0) for c in range(20)])
            for key, p in (("labelled_shot", prototypes), ("soft_kmeans", refined), ("true_classes", oracle)):
                predicted = ((query[t][:, None] - p[None]) ** 2).sum(-1).argmin(1)
                scores[key].append(float(np.mean(predicted == query_y.numpy()[t])))
    record = {"unlabeled": u, "episodes": len(scores["labelled_shot"]), "preset": "hypertransformer/omniglot_20way_1shot"}
    for key, values in scores.items():
        values = np.array(values)
        record[key] = {"accuracy": float(values.mean()), "ci95": float(1.96 * values.std() / np.sqrt(len(values)))}
        print(f"{key}: {percent(record[key])}")
    write_json(RESULTS / "semi_feature_check.json", record)


def features(model, images, weights):
    """The generated CNN's features `[T, n, F]` of `images`, with the support statistics in `weights`."""
    x = images
    for layer in range(model.blocks):
        moments = ((weights[f"norm{layer}_mean"], weights[f"norm{layer}_variance"])
                   if model.normalization == "support" else None)
        x, _ = model._block(layer, x, weights[f"conv{layer}"], moments)
    return np.reshape(np.asarray(x), (x.shape[0], x.shape[1], -1))


def percent(score):
    return f"{100 * score['accuracy']:.2f}% ± {100 * score['ci95']:.2f}%"


def table():
    """The README's Markdown table of every results/semi_u*.json."""
    rows = ["| u | training | with its unlabeled samples | the same episodes without them | result |",
            "| --- | --- | --- | --- | --- |"]
    records = [(json.loads(p.read_text()), p.name) for p in sorted(RESULTS.glob("semi_u*.json"))]
    for r, name in sorted(records, key=lambda x: (x[0]["unlabeled"], x[0].get("supervised_steps", 0))):
        warmup = f"warm-up {r['warmup_steps']:,}" if r.get("warmup_steps") else "no warm-up"
        first = f", {r['supervised_steps']:,} supervised steps first" if r.get("supervised_steps") else (
            ", phased in from step 0" if r["unlabeled"] else "")
        without = percent(r["without_unlabeled"]) if "without_unlabeled" in r else "-"
        rows.append(f"| {r['unlabeled']} | {r['steps']:,} steps, {warmup}{first} | {percent(r)} | {without} | "
                    f"`results/{name}` |")
    return "\n".join(rows)


def without_unlabeled(x, u):
    """The episode `x` with its u unlabeled support samples per class removed (1 labelled shot left)."""
    keep = lambda t: t[:, :: 1 + u]  # class-major: each class's labelled shot, then its u unlabeled ones
    return {"support_x": keep(x["support_x"]), "support_y": keep(x["support_y"]), "query_x": x["query_x"]}


if __name__ == "__main__":
    main()
