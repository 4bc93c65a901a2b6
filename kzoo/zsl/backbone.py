"""The feature backbone of `glyph_compositions`: a ConvBackbone + softmax trained on the seen classes.

It plays the part of the ImageNet ResNet-101 of the Xian et al. benchmarks. Training
is seeded but not bit-reproducible across machines, so the trained weights ship in
`saved_models/zsl/glyph_compositions_backbone/` (`save_glyph_backbone`) and are
loaded instead of trained when the data arguments match.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

BACKBONE_PRESET = ("zsl", "glyph_compositions_backbone")
WEIGHTS_FILE = "backbone.weights.h5"
METADATA_FILE = "metadata.json"


def backbone_folder(backbone_weights, args):
    """The backbone folder to load for `args` (`None`: train one)."""
    if backbone_weights is None:
        return None
    if isinstance(backbone_weights, str) and backbone_weights == "auto":
        from kzoo.presets import presets_root

        folder = presets_root().joinpath(*BACKBONE_PRESET)
        if not (folder / WEIGHTS_FILE).exists():
            return None
        return folder if backbone_metadata(folder)["arguments"] == args else None
    folder = os.fspath(backbone_weights)
    if not os.path.exists(os.path.join(folder, WEIGHTS_FILE)):
        raise FileNotFoundError(f"Expected `backbone_weights` to be \"auto\", None or a folder holding "
                                f"{WEIGHTS_FILE} (written by save_glyph_backbone). Received: "
                                f"backbone_weights={backbone_weights!r}.")
    saved = backbone_metadata(folder)["arguments"]
    if saved != args:
        differ = sorted(k for k in args if saved.get(k) != args[k])
        raise ValueError(f"Expected `backbone_weights` trained with these arguments; the backbone in {folder} was "
                         f"trained with {', '.join(f'{k}={saved.get(k)!r}' for k in differ)}. Received: "
                         f"{', '.join(f'{k}={args[k]!r}' for k in differ)}.")
    return folder


def backbone_metadata(folder):
    with open(os.path.join(folder, METADATA_FILE)) as f:
        return json.load(f)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def save_glyph_backbone(folder=None, **kwargs):
    """Trains the glyph-compositions feature backbone and saves it for shipping.

    Writes `backbone.weights.h5` (the conv backbone and its softmax head) and
    `metadata.json` (the `glyph_compositions` arguments, the character list, the
    training recipe and its test-seen accuracy) atomically to `folder`, by default
    the shipped `saved_models/zsl/glyph_compositions_backbone/` of the checkout.
    `glyph_compositions(**kwargs)` then loads it instead of training.

        python -c "from kzoo import zsl; zsl.save_glyph_backbone()"

    Args:
        folder: the output folder. Defaults to the shipped location.
        **kwargs: `glyph_compositions` arguments (not `backbone_weights`,
            `cache_dir`, `verbose`).

    Returns:
        The folder, as a `pathlib.Path`.
    """
    import inspect
    import tempfile

    import keras

    from kzoo.files import atomic_folder
    from kzoo.presets import presets_root

    from kzoo.zsl.compositional import _build, _data_arguments, glyph_compositions

    data_arguments = list(inspect.signature(_data_arguments).parameters)
    unknown = sorted(set(kwargs) - set(data_arguments))
    if unknown:
        raise ValueError(f"Expected `glyph_compositions` data arguments ({', '.join(data_arguments)}). "
                         f"Received: {', '.join(unknown)}.")
    defaults = inspect.signature(glyph_compositions).parameters
    args, paths = _data_arguments(**{k: kwargs.get(k, defaults[k].default) for k in data_arguments})
    folder = Path(folder) if folder is not None else presets_root().joinpath(*BACKBONE_PRESET)
    with tempfile.TemporaryDirectory() as cache:
        data, model = _build(paths, cache, 1, os.path.join(cache, "unused.npz"), **args)
        with atomic_folder(folder, overwrite=True, replaceable=_is_backbone_folder, what="backbone folder") as tmp:
            tmp = Path(tmp)
            # an uncompiled model over the same layers: the file holds no optimizer state
            keras.Model(model.inputs, model.outputs).save_weights(tmp / WEIGHTS_FILE)
            report = json.loads(str(data["report"]))
            (tmp / METADATA_FILE).write_text(json.dumps({
                "arguments": args, "characters": "".join(str(c) for c in data["chars"]), "report": report,
                "command": "python -c \"from kzoo import zsl; zsl.save_glyph_backbone()\"",
            }, indent=1, ensure_ascii=False) + "\n")
    return folder


def _is_backbone_folder(path):
    """Overwriting replaces only a folder `save_glyph_backbone` wrote (its two files)."""
    return {p.name for p in Path(path).iterdir()} <= {WEIGHTS_FILE, METADATA_FILE}


def backbone_features(images, labels, trainval, test_seen, channels, epochs, seed, verbose, weights=None,
                       chars=None):
    """ConvBackbone + softmax trained on trainval (seen classes), or loaded from `weights`.

    Returns the features of every image, the report and the classifier model."""
    import keras

    from kzoo.layers.conv_backbone import ConvBackbone

    keras.utils.set_random_seed(seed)
    seen = np.unique(labels[trainval])
    index = np.full(labels.max() + 1, -1, np.int64)
    index[seen] = np.arange(seen.size)
    x = images.astype(np.float32) / 255.0
    backbone = ConvBackbone(channels=channels, blocks=4, name="backbone")
    inputs = keras.Input(images.shape[1:])
    features = backbone(inputs)
    logits = keras.layers.Dense(seen.size, name="head")(features)
    model = keras.Model(inputs, logits)
    if weights:
        meta = backbone_metadata(weights)
        if chars is not None and meta["characters"] != "".join(chars):
            raise ValueError(f"Expected the backbone in {weights} to be trained on this machine's characters; its "
                             f"character list differs (fonts or Unicode data differ). Pass backbone_weights=None "
                             f"to train a backbone here.")
        model.load_weights(os.path.join(weights, WEIGHTS_FILE))
    elif epochs:
        model.compile(keras.optimizers.Adam(1e-3),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        model.fit(x[trainval], index[labels[trainval]], batch_size=64, epochs=epochs, shuffle=True,
                  verbose=2 if verbose else 0)
    extractor = keras.Model(inputs, features)
    out = extractor.predict(x, batch_size=256, verbose=0).astype(np.float32)
    test_accuracy = float(np.mean(np.argmax(model.predict(x[test_seen], batch_size=256, verbose=0), 1)
                                  == index[labels[test_seen]])) if test_seen.size else float("nan")
    report = {
        "network": f"ConvBackbone(channels={channels}, blocks=4) + Dense({seen.size}) softmax",
        "training": f"Adam 1e-3, batch 64, {epochs} epochs on {trainval.size} trainval images of "
                    f"{seen.size} seen classes, keras.utils.set_random_seed({seed})",
        "test_seen_accuracy": test_accuracy,
    }
    if weights:
        report = {**meta["report"], "test_seen_accuracy": test_accuracy,
                  "weights": "/".join(BACKBONE_PRESET + (WEIGHTS_FILE,)),
                  "weights_sha256": sha256(os.path.join(weights, WEIGHTS_FILE))}
    return out, report, model
