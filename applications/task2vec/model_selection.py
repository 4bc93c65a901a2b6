"""Task2Vec model selection (paper Table 1 structure) and embedding properties, on real data.

Tasks: per-alphabet character classification on the 8 Omniglot background-small
alphabets, plus per-script glyph tasks (the probe's 5 held-out scripts and 4 of its
training scripts), at most `--classes` classes each, every class split 14 train / 6 test
images. Experts: the built-in probe `probe_glyphs_resnet` fine-tuned on each task's
training split. Ground truth: test error of a linear (ridge, one-hot targets) classifier
on each expert's features, for each task. Selection is leave-one-out: never the expert of
the same task. Also: taxonomy-vs-distance correlation of the script families, the
label-permutation invariance and the norm-vs-samples curve (supplementary Fig. 2).

    nice -n 5 python applications/task2vec/model_selection.py

writes applications/task2vec/results/model_selection.json and the PNG plots.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kzoo.applications.task2vec.selection import SCRIPT_FAMILIES as FAMILY
from kzoo.applications.task2vec.selection import linear_probe_error, taxonomy_correlation
from kzoo.files import write_json

HERE = Path(__file__).resolve().parent
GLYPH_SCRIPTS = ("Armenian", "Greek", "Hebrew", "Lao", "Ogham")


def build_tasks(classes, seed=0, per_alphabet=1):
    """Per-alphabet tasks of `classes` random classes; with `per_alphabet` > 1, up to that many
    tasks on disjoint classes of the same alphabet (a chunk needs at least classes / 2 of them)."""
    from kzoo import episodes

    rng = np.random.RandomState(seed)
    sources = [("omniglot", episodes.omniglot(episodes.default_omniglot_path())), ("glyphs", episodes.glyphs())]
    tasks = []
    for domain, source in sources:
        alphabets = source.alphabet_names if domain == "omniglot" else GLYPH_SCRIPTS
        for alphabet in alphabets:
            ids = rng.permutation([c for c in range(source.num_classes) if source.alphabets[c] == alphabet])
            for k in range(per_alphabet):
                chunk = sorted(ids[k * classes:(k + 1) * classes])
                if len(chunk) < max(2, classes // 2):
                    break
                tasks.append(_task(source, chunk, rng, domain, alphabet, f"#{k}" if per_alphabet > 1 else ""))
    return tasks


def _task(source, ids, rng, domain, alphabet, suffix):
    """One classification task: every class split 14 train / 6 test images."""
    sub = source.subset(ids)
    train, test, y_train, y_test = [], [], [], []
    for c in range(sub.num_classes):
        images = sub.images_of(c)[rng.permutation(sub.class_counts[c])]
        train.append(images[:14])
        test.append(images[14:20])
        y_train += [c] * len(images[:14])
        y_test += [c] * len(images[14:20])
    return {
        "name": f"{domain}:{alphabet}{suffix}", "domain": domain, "family": FAMILY[alphabet],
        "alphabet": f"{domain}:{alphabet}",
        "x_train": np.concatenate(train).astype("float32") / 255.0, "y_train": np.array(y_train, "int32"),
        "x_test": np.concatenate(test).astype("float32") / 255.0, "y_test": np.array(y_test, "int32"),
    }


def fine_tune(base, task, epochs, seed, learning_rate=1e-3):
    import keras

    keras.utils.set_random_seed(seed)
    probe = keras.models.clone_model(base)
    probe.set_weights(base.get_weights())
    features = probe.get_layer("features").output
    head = keras.layers.Dense(int(task["y_train"].max()) + 1, name="task_head")(features)
    model = keras.Model(probe.inputs, head)
    model.compile(keras.optimizers.Adam(learning_rate), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(task["x_train"], task["y_train"], batch_size=64, epochs=epochs, verbose=0)
    return keras.Model(probe.inputs, features)


def selection_table(errors, generic, distances_by_rule, model2vec_choice):
    """Mean error of the optimal expert and the relative increase of each selection rule (leave-one-out)."""
    n = errors.shape[0]
    allowed = ~np.eye(n, dtype=bool)
    optimal = np.array([errors[i, allowed[i]].min() for i in range(n)])
    rows = {"chance": np.array([errors[i, allowed[i]].mean() for i in range(n)]), "generic probe": generic}
    for rule, d in distances_by_rule.items():
        d = np.where(allowed, d, np.inf)
        rows[rule] = errors[np.arange(n), np.argmin(d, 1)]
    rows["Model2Vec"] = errors[np.arange(n), model2vec_choice]
    table = {"optimal_error": float(optimal.mean())}
    for rule, chosen in rows.items():
        table[rule] = {"mean_error": float(chosen.mean()),
                       "relative_increase": float(chosen.mean() / optimal.mean() - 1.0)}
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=30)
    parser.add_argument("--tasks-per-alphabet", type=int, default=1,
                        help="tasks on disjoint classes of each alphabet (default 1)")
    parser.add_argument("--expert-epochs", type=int, default=4)
    parser.add_argument("--expert-lr", type=float, default=1e-3, help="Adam learning rate of the fine-tuning")
    parser.add_argument("--methods", default="montecarlo,variational")
    parser.add_argument("--max-samples", type=int, default=1000)
    parser.add_argument("--variational-epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(HERE / "results" / "model_selection.json"))
    args = parser.parse_args(argv)

    import keras

    from kzoo.applications import Model2Vec, Task2Vec, d_asym, d_sym
    from kzoo.applications.task2vec import distance_matrix, load_probe_preset
    from kzoo.applications.task2vec.plots import plot_distance_matrix, plot_embedding_2d

    start = time.time()
    tasks = build_tasks(args.classes, args.seed, args.tasks_per_alphabet)
    names = [t["name"] for t in tasks]
    n = len(tasks)
    print(f"{n} tasks: {names}", flush=True)
    probe, _ = load_probe_preset("probe_glyphs_resnet")
    generic = keras.Model(probe.inputs, probe.get_layer("features").output)

    timings = {}
    t0 = time.time()
    experts = [fine_tune(probe, task, args.expert_epochs, args.seed, args.expert_lr) for task in tasks]
    timings["fine_tune_experts_s"] = time.time() - t0
    t0 = time.time()
    errors = np.array([[linear_probe_error(expert, task) for expert in experts] for task in tasks])
    generic_errors = np.array([linear_probe_error(generic, task) for task in tasks])
    timings["ground_truth_s"] = time.time() - t0
    print(f"experts and ground truth: {time.time() - start:.0f} s", flush=True)

    results = {"command": "nice -n 5 python applications/task2vec/model_selection.py", "args": vars(args),
               "tasks": names, "families": [t["family"] for t in tasks],
               "train_images": [int(t["y_train"].size) for t in tasks],
               "classes": [int(t["y_train"].max()) + 1 for t in tasks],
               "errors": errors.round(4).tolist(), "generic_errors": generic_errors.round(4).tolist(),
               "selection": {}, "taxonomy": {}, "timings": timings}
    rng = np.random.RandomState(args.seed)
    t2v_domain = Task2Vec(probe, method="montecarlo")
    domain = [t2v_domain.domain_embedding((t["x_train"], t["y_train"]), name=t["name"]) for t in tasks]
    domain_d = distance_matrix(domain)
    results["taxonomy"]["domain"] = taxonomy_correlation(domain_d, results["families"], rng)
    for method in args.methods.split(","):
        options = {"max_samples": args.max_samples}
        if method == "variational":
            options.update(epochs=args.variational_epochs, learning_rate=0.05)
        t2v = Task2Vec(probe, method=method, **options)
        t0 = time.time()
        embeddings = [t2v.embed((t["x_train"], t["y_train"]), seed=args.seed, name=t["name"]) for t in tasks]
        timings[f"embed_{method}_s_per_task"] = (time.time() - t0) / n
        sym = distance_matrix(embeddings)
        asym = np.array([[d_asym(embeddings[j], embeddings[i]) for j in range(n)] for i in range(n)])  # expert j -> task i
        mask = ~np.eye(n, dtype=bool)
        m2v = Model2Vec.leave_one_out(embeddings, embeddings, errors, mask=mask)
        results["selection"][method] = selection_table(
            errors, generic_errors, {"domain embedding": domain_d, "Task2Vec d_sym": sym,
                                     "Task2Vec d_asym": asym}, m2v)
        results["selection"][method]["selected"] = {
            "d_sym": [names[j] for j in np.argmin(np.where(mask, sym, np.inf), 1)],
            "d_asym": [names[j] for j in np.argmin(np.where(mask, asym, np.inf), 1)],
            "Model2Vec": [names[j] for j in m2v]}
        results["taxonomy"][method] = taxonomy_correlation(sym, results["families"], rng)
        alphabets = np.array([t["alphabet"] for t in tasks])
        siblings = (alphabets[:, None] == alphabets[None, :]) & mask  # other tasks of the same alphabet
        has = siblings.any(1)
        if has.any():
            nearest = np.argmin(np.where(mask, sym, np.inf), 1)
            best = np.argmin(np.where(mask, errors, np.inf), 1)
            results["same_alphabet"] = results.get("same_alphabet", {})
            results["same_alphabet"][method] = {
                "tasks_with_a_sibling": int(has.sum()),
                "nearest_task_is_a_sibling": float(np.mean(siblings[np.arange(n), nearest][has])),
                "best_expert_is_a_sibling's": float(np.mean(siblings[np.arange(n), best][has])),
                "chance": float(np.mean(siblings[has].sum(1) / (n - 1)))}
        glyph = [i for i, t in enumerate(tasks) if t["domain"] == "glyphs"]
        results["taxonomy"][method + " (glyph tasks only)"] = taxonomy_correlation(
            sym[np.ix_(glyph, glyph)], [results["families"][i] for i in glyph], rng)
        results.setdefault("norms", {})[method] = [float(np.abs(e.vector - e.trivial).sum()) for e in embeddings]
        plot_distance_matrix(sym, names, HERE / "results" / f"distance_matrix_{method}.png", groups=results["families"],
                             title=f"Task2Vec d_sym ({method})")
        plot_embedding_2d(sym, names, HERE / "results" / f"embedding_2d_{method}.png", groups=results["families"],
                          title=f"Task2Vec tasks, MDS of d_sym ({method})")
        # label-name permutation: the same task with permuted class ids
        task = tasks[0]
        perm = rng.permutation(int(task["y_train"].max()) + 1)
        permuted = t2v.embed((task["x_train"], perm[task["y_train"]]), seed=args.seed)
        results.setdefault("permutation", {})[method] = {
            "d_sym(task, permuted labels)": d_sym(embeddings[0], permuted),
            "median d_sym to other tasks": float(np.median(sym[0, 1:]))}
        # norm vs number of samples (supplementary Fig. 2) on three tasks
        curve = {}
        for i in (0, 3, n - 1):
            t = tasks[i]
            row = []
            for per_class in (2, 5, 14):
                keep = np.concatenate([np.flatnonzero(t["y_train"] == c)[:per_class]
                                       for c in range(int(t["y_train"].max()) + 1)])
                e = t2v.embed((t["x_train"][keep], t["y_train"][keep]), seed=args.seed)
                row.append(float(np.abs(e.vector - e.trivial).sum()))
            curve[names[i]] = {"images_per_class": [2, 5, 14], "l1_norm": row}
        results.setdefault("norm_vs_samples", {})[method] = curve
        print(method, json.dumps(results["selection"][method], indent=1)[:1500], flush=True)
        if "same_alphabet" in results:
            print("same alphabet:", json.dumps(results["same_alphabet"][method]), flush=True)
    results["seconds"] = time.time() - start
    out = write_json(args.output, results)
    print(f"wrote {out} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
