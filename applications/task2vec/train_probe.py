"""Trains the built-in Task2Vec probe `probe_glyphs_resnet` and writes its preset.

The probe is `probe_resnet` (16-32-64-128 channels, ~0.3 M weights) trained to classify
the characters of the glyph scripts not in `HELD_OUT_SCRIPTS` (16 fonts/distortions per
class for training, 4 held out for validation). The recorded command:

    nice -n 5 /work/venv/bin/python applications/task2vec/train_probe.py --epochs 8

writes saved_models/task2vec/probe_glyphs_resnet/ (config.json, model.weights.h5,
metadata.json with the validation accuracy and the replay subset's accuracy).
"""

import argparse
import sys
import time

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="preset folder (default: the built-in one)")
    args = parser.parse_args(argv)

    import keras

    from kzoo import episodes
    from kzoo.applications.task2vec import PROBE_PRESET_REPLAY, save_probe_preset
    from kzoo.applications.task2vec_probe import (
        HELD_OUT_SCRIPTS,
        glyph_probe_split,
        probe_resnet,
    )
    from kzoo.presets import presets_root

    keras.utils.set_random_seed(args.seed)
    source = episodes.glyphs()
    x_train, y_train, x_val, y_val, class_ids = glyph_probe_split(source)
    print(f"{len(class_ids)} classes, {len(x_train)} training and {len(x_val)} validation images", flush=True)
    model = probe_resnet(len(class_ids))
    steps = args.epochs * int(np.ceil(len(x_train) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.time()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        validation_data=(x_val, y_val), verbose=2)
    seconds = time.time() - start
    _, val_accuracy = model.evaluate(x_val, y_val, batch_size=256, verbose=0)
    replay = PROBE_PRESET_REPLAY
    subset = np.argmax(model.predict(x_val[: replay["images"]], batch_size=256, verbose=0), -1)
    replay_accuracy = float(np.mean(subset == y_val[: replay["images"]]))
    metadata = {
        "description": "Task2Vec probe: small ResNet (16-32-64-128) trained to classify glyph characters",
        "command": "nice -n 5 python applications/task2vec/train_probe.py " + " ".join(argv or sys.argv[1:]),
        "data_spec": "glyphs",
        "data": {"source": repr(source), "held_out_scripts": list(HELD_OUT_SCRIPTS),
                 "classes": len(class_ids), "training_images": len(x_train),
                 "validation_images": len(x_val), "validation_per_class": 4, "split_seed": 0},
        "training": {"epochs": args.epochs, "batch_size": args.batch_size, "optimizer": "Adam",
                     "learning_rate": args.learning_rate, "schedule": "cosine decay", "seed": args.seed,
                     "seconds": round(seconds, 1),
                     "history": {k: [round(float(v), 4) for v in vals] for k, vals in history.history.items()}},
        "evaluation": {"validation_accuracy": round(float(val_accuracy), 4),
                       "replay": {**replay, "accuracy": replay_accuracy}},
    }
    folder = args.output or presets_root() / "task2vec" / "probe_glyphs_resnet"
    save_probe_preset(model, folder, metadata, overwrite=True)
    print(f"validation accuracy {val_accuracy:.4f}; replay subset {replay_accuracy:.4f}; wrote {folder}")


if __name__ == "__main__":
    main()
