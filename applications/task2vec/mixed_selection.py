"""Task2Vec expert selection on a library of data-rich experts (the paper's "Mixed" meta-task structure).

`model_selection.py` fine-tunes an expert on every (small) task and selects leave-one-out,
like the paper's iNat+CUB meta-task. Its experts never beat the generic probe, so there
was nothing to select. Here the library is built like the paper's Mixed meta-task: the
experts are trained on large collections, and the tasks are small and new.

Every alphabet's characters are split in two halves (seed `--seed`):
- Experts are trained on one half, with `--expert-images` renderings per glyph character
  (Omniglot has its 20 drawings). There is one expert per held-out glyph script (Armenian,
  Greek, Hebrew, Lao, Ogham: the probe never saw them), one per Omniglot alphabet, one on
  all Omniglot alphabets together, and distractors on scripts the probe was trained on.
  Each expert is the probe, its head refitted for `--head-steps` steps on frozen
  features, then fine-tuned for `--expert-steps` steps (Adam with cosine decay, random
  shifts and rotations), as in Sect. 4.1's two phases.
- Tasks use the other half: up to `--tasks-per-alphabet` tasks of `--classes` classes,
  each with `--shots` training images per class. The tests use the remaining Omniglot
  drawings (20 - shots), or `--test-images` new glyph renderings.

Ground truth: the test error of a ridge classifier on each expert's features, for
every (task, expert) pair. Selection: the expert whose training data is nearest the
task. Distances use Task2Vec (`--method`, d_sym / d_asym), the domain embedding, or
Model2Vec, fitted leave-one-out over the tasks. An expert's training set is embedded
whole (up to `--max-samples` images) and also as task-sized samples (the mean of 3
embeddings of `--classes` classes x shots images). Chance is the mean over experts.

    python applications/task2vec/mixed_selection.py --experts-dir /tmp/kzoo_experts
    python applications/task2vec/mixed_selection.py --experts-dir /tmp/kzoo_experts --method expected \
        --output applications/task2vec/results/mixed_selection_expected.json

writes applications/task2vec/results/mixed_selection.json; `report.py mixed_selection.json`
prints the table.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from kzoo.files import write_json

from kzoo.applications.task2vec.selection import SCRIPT_FAMILIES, linear_probe_error, taxonomy_correlation

HERE = Path(__file__).resolve().parent

HELD_OUT = ("Armenian", "Greek", "Hebrew", "Lao", "Ogham")
DISTRACTORS = ("Latin", "Cyrillic", "Georgian", "Arabic", "Canadian Aboriginal")
FAMILY = dict(SCRIPT_FAMILIES, **{"Canadian Aboriginal": "Canadian Aboriginal", "Omniglot": "Omniglot (all)"})


def halves(names, rng):
    """A random split of a list into (expert half, task half)."""
    names = list(np.array(names)[rng.permutation(len(names))])
    return names[: len(names) // 2], names[len(names) // 2:]


def _record(name, domain, alphabet, x, y, **extra):
    return dict(name=name, domain=domain, alphabet=alphabet, family=FAMILY[alphabet],
                x=np.asarray(x, "float32") / 255.0, y=np.asarray(y, "int32"), **extra)


def build_library(args):
    """The experts' training sets and the tasks, on disjoint characters of each alphabet."""
    from kzoo import episodes

    rng = np.random.RandomState(args.seed)
    max_shots = max(args.shots)
    glyphs = episodes.glyphs()
    omniglot = episodes.omniglot(episodes.default_omniglot_path())
    experts, tasks = [], []

    def glyph_images(characters, per_class, seed):
        src = episodes.glyphs(characters="".join(characters), examples_per_class=per_class, seed=seed)
        return src.images, np.repeat(np.arange(len(characters)), per_class)

    for script in HELD_OUT + DISTRACTORS:
        chars = [glyphs.class_names[c] for c in range(glyphs.num_classes) if glyphs.alphabets[c] == script]
        expert_chars, task_chars = halves(chars, rng)
        expert_chars = expert_chars[: args.max_expert_classes]
        x, y = glyph_images(expert_chars, args.expert_images, seed=1)
        experts.append(_record(f"glyphs:{script}", "glyphs", script, x, y))
        if script in DISTRACTORS:
            continue  # the probe was trained on these characters: no new tasks there
        for k in range(args.tasks_per_alphabet):
            chunk = task_chars[k * args.classes:(k + 1) * args.classes]
            if len(chunk) < max(2, args.classes // 2):
                break
            x, _ = glyph_images(chunk, max_shots + args.test_images, seed=2)
            tasks.append(_task(f"glyphs:{script}#{k}", "glyphs", script, x.reshape(len(chunk), -1, *x.shape[1:])))
    pooled_x, pooled_y, pooled_ids = [], [], []
    for alphabet in omniglot.alphabet_names:
        ids = [c for c in range(omniglot.num_classes) if omniglot.alphabets[c] == alphabet]
        expert_ids, task_ids = halves(ids, rng)
        x = np.concatenate([omniglot.images_of(c) for c in expert_ids])
        y = np.repeat(np.arange(len(expert_ids)), [omniglot.class_counts[c] for c in expert_ids])
        experts.append(_record(f"omniglot:{alphabet}", "omniglot", alphabet, x, y))
        pooled_x.append(x)
        pooled_y.append(y + sum(len(p) for p in pooled_ids))  # class ids continue across alphabets
        pooled_ids.append(expert_ids)
        for k in range(args.tasks_per_alphabet):
            chunk = task_ids[k * args.classes:(k + 1) * args.classes]
            if len(chunk) < max(2, args.classes // 2):
                break
            images = [omniglot.images_of(c)[rng.permutation(omniglot.class_counts[c])][:20] for c in chunk]
            tasks.append(_task(f"omniglot:{alphabet}#{k}", "omniglot", alphabet, np.stack(images)))
    experts.append(_record("omniglot:all", "omniglot", "Omniglot", np.concatenate(pooled_x),
                           np.concatenate(pooled_y)))
    return experts, tasks


def _task(name, domain, alphabet, images):
    """A task's images `[classes, images per class, H, W, 1]` in a fixed order: the first
    `shots` of each class train (see `with_shots`), the ones after `max(--shots)` test."""
    return dict(name=name, domain=domain, alphabet=alphabet, family=FAMILY[alphabet],
                images=np.asarray(images, "float32") / 255.0)


def with_shots(task, shots, max_shots):
    """The task with `shots` training images per class and the same test images for every `shots`."""
    c, m = task["images"].shape[:2]
    labels = np.repeat(np.arange(c, dtype="int32"), m).reshape(c, m)
    flat = lambda a: a.reshape(-1, *a.shape[2:])  # noqa: E731
    return dict(task, x_train=flat(task["images"][:, :shots]), y_train=flat(labels[:, :shots]),
                x_test=flat(task["images"][:, max_shots:]), y_test=flat(labels[:, max_shots:]))


def train_expert(base, data, args):
    """The probe with a new head: `head_steps` on frozen features, then `expert_steps` of full fine-tuning."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    probe = keras.models.clone_model(base)
    probe.set_weights(base.get_weights())
    extractor = keras.Model(probe.inputs, probe.get_layer("features").output)
    augment = keras.Sequential([keras.layers.RandomRotation(0.03, fill_mode="constant"),
                                keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant"),
                                keras.layers.RandomZoom(0.1, fill_mode="constant")])
    inputs = keras.Input(probe.input_shape[1:])
    head = keras.layers.Dense(int(data["y"].max()) + 1, name="expert_head")
    model = keras.Model(inputs, head(extractor(augment(inputs))))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def dataset(steps):
        ds = tf.data.Dataset.from_tensor_slices((data["x"], data["y"])).shuffle(len(data["y"]), seed=args.seed)
        return ds.repeat().batch(args.batch_size, drop_remainder=True).take(steps)

    extractor.trainable = False
    model.compile(keras.optimizers.Adam(1e-2), loss)
    model.fit(dataset(args.head_steps), verbose=0)
    extractor.trainable = True
    schedule = keras.optimizers.schedules.CosineDecay(args.expert_lr, args.expert_steps)
    model.compile(keras.optimizers.Adam(schedule, weight_decay=5e-4), loss, metrics=["accuracy"])
    history = model.fit(dataset(args.expert_steps), verbose=0)
    return extractor, float(history.history["accuracy"][-1])


def matched_embedding(t2v, expert, args, shots, samples=3):
    """An expert's training set embedded like a task: the mean Fisher of `samples` random task-sized
    subsets (`--classes` classes, `shots` images each), so both sides use the same number of images."""
    from kzoo.applications.task2vec import TaskEmbedding

    rng = np.random.RandomState(args.seed)
    vectors = []
    for _ in range(samples):
        classes = rng.choice(int(expert["y"].max()) + 1, min(args.classes, int(expert["y"].max()) + 1), replace=False)
        keep = np.concatenate([rng.choice(np.flatnonzero(expert["y"] == c), shots, replace=False) for c in classes])
        remap = np.searchsorted(np.sort(classes), expert["y"][keep])
        e = t2v.embed((expert["x"][keep], remap), seed=args.seed, name=expert["name"])
        vectors.append(e.vector)
    return TaskEmbedding(np.mean(vectors, 0), e.trivial, method=e.method, probe=e.probe,
                         metadata=dict(e.metadata, subsets=samples))


def select(errors, generic, rules):
    """Mean error of the optimal expert and each rule's relative increase over it (Table 1)."""
    n = errors.shape[0]
    optimal = errors.min(1)
    rows = {"chance": errors.mean(1), "generic probe": generic}
    rows.update({rule: errors[np.arange(n), choice] for rule, choice in rules.items()})
    table = {"optimal_error": float(optimal.mean())}
    for rule, chosen in rows.items():
        table[rule] = {"mean_error": float(chosen.mean()), "relative_increase": float(chosen.mean() / optimal.mean() - 1)}
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--shots", default="1,2,5", help="comma-separated training images per class of a task")
    parser.add_argument("--test-images", type=int, default=20, help="test renderings per class of a glyph task")
    parser.add_argument("--tasks-per-alphabet", type=int, default=2)
    parser.add_argument("--expert-images", type=int, default=100, help="renderings per character of a glyph expert")
    parser.add_argument("--experts-dir", default=None,
                        help="folder to save the trained experts in and load them from on a rerun")
    parser.add_argument("--max-expert-classes", type=int, default=120)
    parser.add_argument("--head-steps", type=int, default=100)
    parser.add_argument("--expert-steps", type=int, default=600)
    parser.add_argument("--expert-lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--method", default="montecarlo", choices=("montecarlo", "expected", "variational"),
                        help="Fisher estimator of the embeddings")
    parser.add_argument("--max-samples", type=int, default=1000, help="Fisher samples per embedding")
    parser.add_argument("--only", default="", help="comma-separated expert names to train (a quick pilot)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(HERE / "results" / "mixed_selection.json"))
    args = parser.parse_args(argv)
    args.shots = sorted(int(k) for k in args.shots.split(","))

    import keras

    from kzoo.applications import Task2Vec
    from kzoo.applications.task2vec import load_probe_preset

    start = time.time()
    experts, tasks = build_library(args)
    if args.only:
        experts = [e for e in experts if e["name"] in args.only.split(",")]
    names = [e["name"] for e in experts]
    print(f"{len(experts)} experts: " + ", ".join(f"{e['name']} ({len(e['y'])} images)" for e in experts), flush=True)
    print(f"{len(tasks)} tasks: {[t['name'] for t in tasks]}", flush=True)
    probe, _ = load_probe_preset("probe_glyphs_resnet")
    generic = keras.Model(probe.inputs, probe.get_layer("features").output)
    timings = {}

    t0 = time.time()
    extractors, train_accuracy = [], []
    for e in experts:
        extractor, accuracy = cached_expert(probe, e, args)
        extractors.append(extractor)
        train_accuracy.append(accuracy)
        print(f"  expert {e['name']}: training accuracy {accuracy:.3f} ({time.time() - t0:.0f} s)", flush=True)
    timings["train_experts_s"] = time.time() - t0

    t0 = time.time()
    t2v = Task2Vec(probe, method=args.method, max_samples=args.max_samples)
    expert_emb = [t2v.embed((e["x"], e["y"]), seed=args.seed, name=e["name"]) for e in experts]
    expert_dom = [t2v.domain_embedding((e["x"], e["y"])) for e in experts]
    timings["embed_experts_s"] = time.time() - t0
    results = {
        "command": "python applications/task2vec/mixed_selection.py " + " ".join(argv or sys.argv[1:]),
        "args": vars(args), "experts": names, "expert_images": [int(len(e["y"])) for e in experts],
        "expert_classes": [int(e["y"].max()) + 1 for e in experts],
        "expert_training_accuracy": train_accuracy, "tasks": [t["name"] for t in tasks],
        "task_classes": [int(t["images"].shape[0]) for t in tasks], "by_shots": {}, "timings": timings,
    }
    for shots in args.shots:
        t0 = time.time()
        shot_tasks = [with_shots(t, shots, max(args.shots)) for t in tasks]
        results["by_shots"][str(shots)] = evaluate(shot_tasks, experts, extractors, generic, t2v, expert_emb,
                                                   expert_dom, shots, args)
        timings[f"{shots}_shots_s"] = time.time() - t0
        print(f"{shots} shots:", json.dumps(results["by_shots"][str(shots)]["selection"], indent=1), flush=True)
    results["seconds"] = time.time() - start
    out = write_json(args.output, results)
    print(f"wrote {out} in {results['seconds']:.0f} s")


def cached_expert(probe, expert, args):
    """`train_expert`, or its weights from `--experts-dir` when a run with the same recipe saved them."""
    import keras

    if args.experts_dir is None:
        return train_expert(probe, expert, args)
    recipe = {k: getattr(args, k) for k in ("expert_images", "max_expert_classes", "head_steps", "expert_steps",
                                            "expert_lr", "batch_size", "seed")}
    folder = Path(args.experts_dir)
    path = folder / (expert["name"].replace(":", "_").replace(" ", "_") + ".weights.h5")
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists() and json.loads(meta.read_text())["recipe"] == recipe:
        extractor = keras.Model(probe.inputs, probe.get_layer("features").output)
        extractor = keras.models.clone_model(extractor)
        extractor.load_weights(path)
        return extractor, json.loads(meta.read_text())["training_accuracy"]
    extractor, accuracy = train_expert(probe, expert, args)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.weights.h5")
    extractor.save_weights(tmp)
    tmp.replace(path)
    meta.write_text(json.dumps({"recipe": recipe, "training_accuracy": accuracy}) + "\n")
    return extractor, accuracy


def evaluate(tasks, experts, extractors, generic, t2v, expert_emb, expert_dom, shots, args):
    """Ground truth and every selection rule for one number of shots."""
    from kzoo.applications import Model2Vec, d_asym, d_sym
    from kzoo.applications.task2vec.plots import plot_distance_matrix

    errors = np.array([[linear_probe_error(x, t) for x in extractors] for t in tasks])
    generic_errors = np.array([linear_probe_error(generic, t) for t in tasks])
    task_emb = [t2v.embed((t["x_train"], t["y_train"]), seed=args.seed, name=t["name"]) for t in tasks]
    task_dom = [t2v.domain_embedding((t["x_train"], t["y_train"])) for t in tasks]
    expert_matched = [matched_embedding(t2v, e, args, shots) for e in experts]
    sym = np.array([[d_sym(e, t) for e in expert_emb] for t in task_emb])
    asym = np.array([[d_asym(e, t) for e in expert_emb] for t in task_emb])  # expert -> task
    dom = np.array([[d_sym(e, t) for e in expert_dom] for t in task_dom])
    sym_matched = np.array([[d_sym(e, t) for e in expert_matched] for t in task_emb])
    rules = {"domain embedding": dom.argmin(1), "Task2Vec d_sym": sym.argmin(1), "Task2Vec d_asym": asym.argmin(1),
             "Model2Vec": Model2Vec.leave_one_out(expert_emb, task_emb, errors),
             "Task2Vec d_sym, task-sized expert samples": sym_matched.argmin(1),
             "Model2Vec, task-sized expert samples": Model2Vec.leave_one_out(expert_matched, task_emb, errors)}
    names = [e["name"] for e in experts]
    n = np.arange(len(tasks))
    same = np.array([[e["alphabet"] == t["alphabet"] and e["domain"] == t["domain"] for e in experts] for t in tasks])
    best = errors.argmin(1)
    if shots == max(args.shots):
        everything = expert_matched + task_emb
        plot_names = [f"expert {e}" for e in names] + [t["name"] for t in tasks]
        plot_distance_matrix(np.array([[d_sym(a, b) for b in everything] for a in everything]), plot_names,
                             HERE / "results" / f"mixed_distance_matrix_{args.method}.png",
                             groups=[e["family"] for e in experts] + [t["family"] for t in tasks],
                             title=f"Task2Vec d_sym ({args.method}), experts (task-sized samples), {shots}-shot tasks")
    return {
        "test_images": [int(len(t["y_test"])) for t in tasks],
        "errors": errors.round(4).tolist(), "generic_errors": generic_errors.round(4).tolist(),
        "selection": select(errors, generic_errors, rules),
        "selected": {rule: [names[j] for j in choice] for rule, choice in rules.items()},
        "best_expert": [names[j] for j in best],
        "tasks_where_best_expert_beats_generic": int(np.sum(errors.min(1) < generic_errors)),
        "same_alphabet_expert": {
            "best_expert_is_it": float(np.mean(same[n, best])),
            **{f"{rule} picks it": float(np.mean(same[n, c])) for rule, c in rules.items()},
            "chance": float(np.mean(same.mean(1)))},
        "taxonomy": taxonomy_correlation(np.array([[d_sym(a, b) for b in task_emb] for a in task_emb]),
                                         [t["family"] for t in tasks], np.random.RandomState(args.seed)),
    }


if __name__ == "__main__":
    main()
