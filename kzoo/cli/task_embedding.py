"""`kzoo fit`, `evaluate` and `embed` for Task2Vec.

`kzoo fit task2vec` trains a probe network (the frozen feature extractor of every
embedding) on a few-shot source's characters; `kzoo evaluate` scores the probe's
top-1 accuracy on its validation images; `kzoo embed` embeds every task of a folder
(one sub-folder per task, each in the image-folder layout: one folder per class)
and writes the embeddings and their distance matrix.
"""

import json
from pathlib import Path

#: the `kzoo fit` options the probe recipe takes (any other one set is an error)
FIT_OPTIONS = {"data", "seed", "epochs", "batch_size", "learning_rate", "verbose"}


def fit(cls, args):
    """Trains a Task2Vec probe, scores it on its validation images, saves and exports it."""
    from kzoo import episodes
    from kzoo.applications.task2vec.probe import evaluate_probe, train_probe
    from kzoo.cli.arguments import check_outputs, save_outputs

    args.data = args.data or "glyphs"
    check_outputs(args)
    source = episodes.load(args.data)
    print(f"data: {source!r}")
    probe, record = train_probe(source, epochs=args.epochs, batch_size=args.batch_size,
                                learning_rate=args.learning_rate or 2e-3, seed=args.seed,
                                verbose=1 if args.verbose else 2)
    record["evaluation"] = evaluate_probe(probe, source)
    print(summary(record["evaluation"]))
    save_outputs(cls(probe, method="montecarlo"), args, record,
                 f"Task2Vec probe (probe_resnet) trained to classify the characters of {source.name}")


def evaluate(model, args):
    """Recomputes the probe's validation accuracy and prints it beside the recorded one."""
    from kzoo import episodes
    from kzoo.applications.task2vec.probe import HELD_OUT_SCRIPTS, evaluate_probe

    meta = model.preset_metadata
    source = episodes.load(args.data or meta.get("data_spec", "glyphs"))
    held_out = meta.get("data", {}).get("held_out_scripts", HELD_OUT_SCRIPTS)
    score = evaluate_probe(model.probe, source, held_out=held_out)
    print(f"{args.preset}: {summary(score)}")
    if "evaluation" in meta:
        print(f"recorded in metadata: {summary(meta['evaluation'])}")
    if args.json:
        print(json.dumps(score))


def summary(score):
    return (f"probe top-1 accuracy {100 * score['validation_accuracy']:.2f}% on "
            f"{score.get('validation_images', 'its')} validation images "
            f"({100 * score['replay']['accuracy']:.2f}% on the first {score['replay']['images']})")


def task_folders(folder):
    """The task sub-folders of `folder` (sorted), each holding one folder per class."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Expected a folder of tasks (one sub-folder per task, one folder per class "
                                f"inside). Received: {str(folder)!r}, which is not a folder.")
    tasks = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not tasks:
        raise ValueError(f"Expected task sub-folders in {str(folder)!r} (each with one folder per class). "
                         f"Received: none.")
    return tasks


def embed(args):
    """Embeds every task of a folder with a Task2Vec preset; writes an `.npz` (and a distance-matrix PNG)."""
    import numpy as np

    from kzoo.applications import Task2Vec, application
    from kzoo.applications.task2vec import distance_matrix, plot_distance_matrix
    from kzoo.episodes import image_folder
    from kzoo.files import atomic_path

    if args.preset.partition("/")[0] != "task2vec" and not Path(args.preset).is_dir():
        application(args.preset.partition("/")[0])  # an unknown name is named first
        raise ValueError(f"Expected a Task2Vec preset (task2vec/NAME or a probe preset folder) for `kzoo embed`. "
                         f"Received: {args.preset!r}.")
    preset = args.preset.partition("/")[2] if args.preset.startswith("task2vec/") else args.preset
    tasks = task_folders(args.tasks)
    t2v = Task2Vec.from_preset(preset, method=args.method, max_samples=args.max_samples)
    height, width, channels = t2v.fisher.input_shape
    embeddings = []
    for i, folder in enumerate(tasks):
        source = image_folder(folder, image_size=(height, width), channels=channels, invert=args.invert)
        embeddings.append(t2v.embed(source, seed=args.seed, name=folder.name))
        print(f"[{i + 1}/{len(tasks)}] {folder.name}: {source.num_classes} classes, "
              f"{source.images.shape[0]} images, head accuracy {embeddings[-1].metadata['head_accuracy']:.3f}",
              flush=True)
    names = [folder.name for folder in tasks]
    distances = distance_matrix(embeddings)
    with atomic_path(args.out, suffix=".npz") as tmp:
        np.savez(tmp, names=np.array(names), vectors=np.stack([e.vector for e in embeddings]),
                 d_sym=distances, method=args.method, probe=t2v.fingerprint,
                 metadata=json.dumps([e.metadata for e in embeddings]))
    print(f"wrote {args.out}: {len(names)} embeddings of {t2v.fisher.num_filters} filters, and their d_sym")
    if args.plot:
        plot_distance_matrix(distances, names, args.plot)
        print(f"wrote {args.plot}")
