"""The built-in Task2Vec probe network: a small ResNet for 28x28 grey-level characters."""

import keras

from kzoo.checks import check_int
from kzoo.presets import list_presets, load_preset_model, presets_root, read_metadata, resolve_preset, write_preset

#: glyph scripts the built-in probe never sees in training, so Task2Vec tasks on them are new
HELD_OUT_SCRIPTS = ("Armenian", "Greek", "Hebrew", "Lao", "Ogham")


def _basic_block(x, filters, stride, name):
    shortcut = x
    y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_shortcut")(x)
        shortcut = keras.layers.BatchNormalization(name=f"{name}_shortcut_bn")(shortcut)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def probe_resnet(num_classes, input_shape=(28, 28, 1), widths=(16, 32, 64, 128), name="probe_resnet"):
    """A small ResNet probe: a 3x3 stem and one basic block per stage, GAP, a linear head.

    Stage i has `widths[i]` channels; stages after the first halve the resolution
    (28 -> 14 -> 7 -> 4). Every conv is followed by BatchNormalization. The layers are
    named `stem_conv`, `stage{i}_conv1`, `stage{i}_conv2`, `stage{i}_shortcut`,
    `features` (the global average pool) and `classifier` (the head), so
    `FisherProbe` can cut it into a feature extractor and a head.

    Args:
        num_classes: outputs of the classifier head.
        input_shape: `(height, width, channels)`, images as floats in [0, 1]. Defaults
            to `(28, 28, 1)`.
        widths: channels of the four stages. Defaults to `(16, 32, 64, 128)`.
        name: the model's name. Defaults to `"probe_resnet"`.

    Returns:
        A functional `keras.Model` mapping `[B, H, W, C]` images to `[B, num_classes]` logits.
    """
    check_int(num_classes, "num_classes", 2)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = keras.layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for i, filters in enumerate(widths):
        x = _basic_block(x, filters, 1 if i == 0 else 2, name=f"stage{i + 1}")
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    outputs = keras.layers.Dense(num_classes, name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)


def glyph_probe_split(source, held_out=HELD_OUT_SCRIPTS, validation_per_class=4, seed=0):
    """The built-in probe's data: training scripts only, `validation_per_class` images per class held out.

    Args:
        source: the `episodes.glyphs()` `Source`.
        held_out: scripts (alphabets) left out entirely. Defaults to `HELD_OUT_SCRIPTS`.
        validation_per_class: validation images per class. Defaults to `4`.
        seed: the seed of the per-class choice. Defaults to `0`.

    Returns:
        `(train_images, train_labels, val_images, val_labels, class_ids)`: float32
        images in [0, 1]; labels index `class_ids` (the source's class ids kept).
    """
    import numpy as np

    class_ids = [c for c in range(source.num_classes) if source.alphabets[c] not in set(held_out)]
    rng = np.random.RandomState(seed)
    train_rows, val_rows, train_y, val_y = [], [], [], []
    for new, c in enumerate(class_ids):
        rows = np.arange(source.offsets[c], source.offsets[c + 1])
        chosen = rng.permutation(len(rows))
        val_rows.append(rows[chosen[:validation_per_class]])
        train_rows.append(rows[chosen[validation_per_class:]])
        val_y.append(np.full(validation_per_class, new))
        train_y.append(np.full(len(rows) - validation_per_class, new))
    train_rows, val_rows = np.concatenate(train_rows), np.concatenate(val_rows)
    images = source.images.astype("float32") / 255.0
    return (images[train_rows], np.concatenate(train_y).astype("int32"),
            images[val_rows], np.concatenate(val_y).astype("int32"), class_ids)


# ------------------------------------------------------------------ probe presets
PRESET_FOLDER = "task2vec"
#: the probe preset's recorded score is replayed on the first `images` validation images
PROBE_PRESET_REPLAY = {"images": 1000, "note": "first 1000 validation images of glyph_probe_split"}


def save_probe_preset(probe, folder, metadata=None, overwrite=False, serving=None):
    """Writes a probe network as a preset folder (config.json, model.weights.h5, metadata.json), atomically.

    `serving` (a `Task2Vec` of the probe) adds its `serving/1/` SavedModel."""
    return write_preset(probe, folder, "Task2Vec", metadata, overwrite, serving=serving)


def probe_presets():
    """`{name: metadata}` of the built-in probe presets in `saved_models/task2vec/`."""
    return list_presets(presets_root() / PRESET_FOLDER)


def load_probe_preset(preset):
    """Loads a probe network from a built-in preset name or a preset folder.

    Returns:
        `(probe, metadata)`: the functional model with its trained weights, and its metadata.
    """
    folder = resolve_preset(preset, probe_presets(), presets_root() / PRESET_FOLDER, "Task2Vec")
    return load_preset_model(folder), read_metadata(folder)




# ------------------------------------------------------------------ the probe recipe (`kzoo fit task2vec`)
def train_probe(source, epochs=12, batch_size=128, learning_rate=2e-3, held_out=HELD_OUT_SCRIPTS, seed=0,
                verbose=2):
    """Trains `probe_resnet` to classify the characters of `source`'s scripts not in `held_out`.

    Adam with a cosine-decayed learning rate over `epochs` passes; the validation
    images of `glyph_probe_split` are scored after every epoch (never used to select).

    Returns:
        `(probe, record)`: the trained functional model and its training record
        (`data`, `training` with the history).
    """
    import time

    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    x_train, y_train, x_val, y_val, class_ids = glyph_probe_split(source, held_out=held_out)
    probe = probe_resnet(len(class_ids), input_shape=source.image_shape)
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    probe.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    history = probe.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_val, y_val),
                        verbose=verbose)
    record = {
        "data": {"source": repr(source), "held_out_scripts": list(held_out), "classes": len(class_ids),
                 "training_images": len(x_train), "validation_images": len(x_val), "validation_per_class": 4,
                 "split_seed": 0},
        "training": {"epochs": epochs, "batch_size": batch_size, "optimizer": "Adam", "learning_rate": learning_rate,
                     "schedule": "cosine decay", "seed": seed, "seconds": round(time.perf_counter() - start, 1),
                     "history": {k: [round(float(v), 4) for v in vals] for k, vals in history.history.items()}},
    }
    return probe, record


def evaluate_probe(probe, source, held_out=HELD_OUT_SCRIPTS):
    """The probe's top-1 accuracy on its validation images, and on the replay subset (`PROBE_PRESET_REPLAY`)."""
    import numpy as np

    _, _, x_val, y_val, _ = glyph_probe_split(source, held_out=held_out)
    predicted = np.argmax(probe.predict(x_val, batch_size=250, verbose=0), -1)
    n = PROBE_PRESET_REPLAY["images"]
    return {"validation_accuracy": round(float(np.mean(predicted == y_val)), 4),
            "validation_images": int(y_val.size),
            "replay": {**PROBE_PRESET_REPLAY, "accuracy": float(np.mean(predicted[:n] == y_val[:n]))}}
