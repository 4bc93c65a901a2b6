"""Presets: pretrained models kept as data in `saved_models/<application>/<preset>/`.

A preset folder holds `config.json` (the serialized model), `model.weights.h5` and
`metadata.json` (versions, parameter count, the command and data that trained it,
and the evaluation it reached: episode settings, seed, per-episode accuracies, mean
and 95% CI). `App.from_preset(name_or_folder)` loads one, `App.presets` lists them,
`model.save_to_preset(folder, metadata)` writes one atomically.

Presets are found in `$KZOO_PRESETS` if set, else in the `saved_models/` folder of
the source checkout kzoo is installed from (`pip install -e .`).
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import keras

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"


def presets_root():
    """The folder holding `<application>/<preset>/` preset folders."""
    if os.environ.get("KZOO_PRESETS"):
        return Path(os.environ["KZOO_PRESETS"])
    return Path(__file__).resolve().parent.parent / "saved_models"


def read_metadata(folder):
    path = Path(folder) / METADATA_FILE
    return json.loads(path.read_text()) if path.exists() else {}


class classproperty:
    def __init__(self, fget):
        self.fget = fget

    def __get__(self, instance, owner):
        return self.fget(owner)


class PresetMixin:
    """`from_preset`, `presets` and `save_to_preset` for kzoo applications."""

    #: folder name under saved_models/ (set by each application)
    preset_folder = None

    @classproperty
    def presets(cls):
        """`{name: metadata}` of the built-in presets of this application."""
        root = presets_root() / (cls.preset_folder or "")
        if cls.preset_folder is None or not root.is_dir():
            return {}
        return {p.name: read_metadata(p) for p in sorted(root.iterdir()) if (p / CONFIG_FILE).exists()}

    @classmethod
    def preset_path(cls, preset):
        """The folder of `preset`, a built-in name or a folder path."""
        if isinstance(preset, os.PathLike) or os.sep in str(preset) or Path(str(preset)).is_dir():
            folder = Path(preset)
            if not (folder / CONFIG_FILE).exists():
                raise ValueError(f"Expected a preset folder with {CONFIG_FILE}. Received: {str(folder)!r}.")
            return folder
        known = cls.presets
        if preset not in known:
            raise ValueError(
                f"Unknown preset for {cls.__name__}: {preset!r}. Known presets: "
                f"{', '.join(sorted(known)) or '(none)'}; or pass the path of a preset folder."
            )
        return presets_root() / cls.preset_folder / preset

    @classmethod
    def from_preset(cls, preset):
        """Loads a model from a built-in preset name or a preset folder.

        Args:
            preset: a name from `App.presets` (e.g. `"omniglot_20way_1shot"`) or the
                path of a folder written by `save_to_preset`.

        Returns:
            The model, built, with its trained weights (not compiled).
        """
        folder = cls.preset_path(preset)
        config = json.loads((folder / CONFIG_FILE).read_text())
        model = keras.saving.deserialize_keras_object(config)
        if not isinstance(model, cls):
            raise ValueError(
                f"Expected a {cls.__name__} preset. Received: {str(folder)!r} holds a "
                f"{type(model).__name__}; load it with {type(model).__name__}.from_preset."
            )
        if not model.built:
            model.build(model.episode_shapes())
        weights = folder / WEIGHTS_FILE
        try:
            model.load_weights(str(weights))
        except Exception as error:  # h5py/keras raise many types for a bad file
            raise ValueError(f"Could not load preset weights from {str(weights)!r}: {error}") from error
        model.preset_metadata = read_metadata(folder)
        return model

    def save_to_preset(self, folder, metadata=None, overwrite=False):
        """Writes `config.json`, `model.weights.h5` and `metadata.json` to `folder`.

        The files are written to a temporary folder next to `folder` and renamed into
        place, so an interrupted save leaves nothing half-written.

        Args:
            folder: the preset folder to create.
            metadata: dict merged into the metadata (the command that trained the
                model, its data and split, its evaluation scores).
            overwrite: replace an existing folder. Defaults to `False`.
        """
        return write_preset(self, folder, type(self).__name__, metadata, overwrite)


def write_preset(model, folder, application, metadata=None, overwrite=False):
    """Writes `model` as a preset folder: `config.json`, `model.weights.h5`, `metadata.json`.

    The files go to a temporary folder next to `folder`, which is then renamed into
    place, so an interrupted save leaves nothing half-written.

    Args:
        model: a Keras model (serialisable with `keras.saving.serialize_keras_object`).
        folder: the preset folder to create.
        application: the name recorded as `"application"` in the metadata.
        metadata: dict merged into the metadata.
        overwrite: replace an existing folder. Defaults to `False`.
    """
    import tensorflow as tf

    import kzoo

    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise ValueError(f"Expected a new preset folder. Received: {str(folder)!r} exists (pass overwrite=True).")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        config = keras.saving.serialize_keras_object(model)
        config.pop("compile_config", None)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        model.save_weights(str(tmp / WEIGHTS_FILE))
        info = {
            "application": application,
            "kzoo_version": kzoo.__version__,
            "keras_version": keras.__version__,
            "tensorflow_version": tf.__version__,
            "parameters": int(model.count_params()),
            **(metadata or {}),
        }
        (tmp / METADATA_FILE).write_text(json.dumps(info, indent=2) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return folder
