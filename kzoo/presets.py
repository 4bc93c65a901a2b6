"""Presets: pretrained models kept as data in `saved_models/<application>/<preset>/`.

A preset folder holds `config.json` (the serialized model), `model.weights.h5`,
`serving/1/` (the TF Serving SavedModel `kzoo export` writes) and `metadata.json` (versions, parameter count, the command and data that trained it,
and the evaluation it reached: episode settings, seed, per-episode accuracies, mean
and 95% CI). `App.from_preset(name_or_folder)` loads one, `App.presets` lists them,
`model.save_to_preset(folder, metadata)` writes one atomically.

Presets are found in `$KZOO_PRESETS` if set, else in the `saved_models/` folder of
the source checkout kzoo is installed from (`pip install -e .`). A bare name is always
a built-in preset (a same-named folder in the working directory does not shadow it);
pass a path (`./name`, `dir/name`, a `Path`) to load a folder.

Guarantees: saving is atomic, and an overwrite only ever replaces a preset folder
(`is_preset_folder`), so a kill at any point leaves the old or the new preset whole;
temporary folders (names starting with a dot) are never listed; loading stays in
Keras safe mode, names the file it could not read, and checks the weights file
against the model the config builds.
"""

import json
import os
from pathlib import Path

import keras

from kzoo.files import atomic_folder, check_folder_target, recover_folder

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"


SERVING_FOLDER = "serving"
#: the files a preset folder may hold (and `serving/`, its SavedModel)
PRESET_ENTRIES = {CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, SERVING_FOLDER}


def presets_root():
    """The folder holding `<application>/<preset>/` preset folders."""
    if os.environ.get("KZOO_PRESETS"):
        return Path(os.environ["KZOO_PRESETS"])
    return Path(__file__).resolve().parent.parent / "saved_models"


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"Could not read preset file {str(path)!r}: {error}.") from None


def read_metadata(folder):
    """A preset folder's `metadata.json` as a dict (`{}` if it has none).

    Raises a `ValueError` naming the file if it is not valid JSON."""
    path = Path(folder) / METADATA_FILE
    if not path.exists():
        return {}
    meta = _read_json(path)
    if not isinstance(meta, dict):
        raise ValueError(f"Could not read preset file {str(path)!r}: expected a JSON object, "
                         f"received a {type(meta).__name__}.")
    return meta


def is_preset_folder(path):
    """True for a folder that `write_preset` could have written: a `config.json` and
    nothing but preset files. Overwriting replaces only such folders."""
    path = Path(path)
    return (path.is_dir() and (path / CONFIG_FILE).is_file()
            and {p.name for p in path.iterdir()} <= PRESET_ENTRIES)


def list_presets(root):
    """`{name: metadata}` of the preset folders in `root`, skipping temporary (dot) folders.

    A preset whose metadata cannot be read is listed with `{"error": message}`, so
    one bad file does not hide the others."""
    root = Path(root)
    if not root.is_dir():
        return {}
    found = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith("."):
            continue
        recover_folder(path)
        if not (path / CONFIG_FILE).exists():
            continue
        try:
            found[path.name] = read_metadata(path)
        except ValueError as error:
            found[path.name] = {"error": str(error)}
    return found


def resolve_preset(preset, known, root, owner):
    """The folder of `preset`: a built-in name from `known` (a name wins over a
    same-named folder in the working directory), or a path of a preset folder."""
    name = str(preset)
    if not isinstance(preset, os.PathLike) and name in known:
        return Path(root) / name
    is_path = isinstance(preset, os.PathLike) or os.sep in name or name.startswith(".") or Path(name).is_dir()
    if not is_path:
        raise ValueError(
            f"Unknown preset for {owner}: {preset!r}. Known presets: "
            f"{', '.join(sorted(known)) or '(none)'}; or pass the path of a preset folder."
        )
    folder = Path(preset)
    recover_folder(folder)
    if not (folder / CONFIG_FILE).exists():
        raise ValueError(f"Expected a preset folder with {CONFIG_FILE}. Received: {str(folder)!r}.")
    return folder


def load_preset_model(folder, expected_cls=None):
    """Builds the model of `folder/config.json` (Keras safe mode) and loads its weights.

    Raises a `ValueError` that names the file when the config cannot be read or
    built, when it holds another class than `expected_cls`, or when the weights file
    does not hold exactly the model's weights (a config with fewer blocks than the
    weights would otherwise load a subset silently)."""
    folder = Path(folder)
    config_path = folder / CONFIG_FILE
    config = _read_json(config_path)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as error:  # Keras raises TypeError/ValueError/KeyError for a bad config
        raise ValueError(f"Could not build a model from {str(config_path)!r}: {error}") from None
    if expected_cls is not None and not isinstance(model, expected_cls):
        raise ValueError(
            f"Expected a {expected_cls.__name__} preset. Received: {str(folder)!r} holds a "
            f"{type(model).__name__}; load it with {type(model).__name__}.from_preset."
        )
    if not model.built and hasattr(model, "episode_shapes"):
        model.build(model.episode_shapes())
    weights = folder / WEIGHTS_FILE
    check_weights_match(model, weights)
    try:
        model.load_weights(str(weights))
    except Exception as error:  # h5py/keras raise many types for a bad file
        raise ValueError(f"Could not load preset weights from {str(weights)!r}: {error}") from error
    return model


def _weight_arrays(path):
    """`{dataset path: shape}` of a Keras `.weights.h5` file, without optimizer state
    (`optimizer/`, and the extra optimizers some applications keep, e.g. `task_optimizer/`)."""
    import h5py

    arrays = {}

    def visit(name, item):
        if isinstance(item, h5py.Dataset) and "optimizer" not in name.split("/")[0]:
            arrays[name] = tuple(item.shape)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return arrays


def check_weights_match(model, weights):
    """Raises a `ValueError` unless `weights` (a `.weights.h5` file) holds exactly the
    arrays, with the same shapes, that `model.save_weights` would write."""
    import tempfile

    weights = Path(weights)
    try:
        stored = _weight_arrays(weights)
    except Exception as error:  # OSError from h5py for a missing or corrupt file
        raise ValueError(f"Could not load preset weights from {str(weights)!r}: {error}") from None
    with tempfile.TemporaryDirectory() as tmp:
        expected_path = os.path.join(tmp, WEIGHTS_FILE)
        model.save_weights(expected_path)
        expected = _weight_arrays(expected_path)
    if stored == expected:
        return
    extra = sorted(set(stored) - set(expected))
    missing = sorted(set(expected) - set(stored))
    reshaped = sorted(k for k in set(stored) & set(expected) if stored[k] != expected[k])

    def few(names):
        return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")

    parts = [f"{len(extra)} arrays the model does not have ({few(extra)})" if extra else "",
             f"{len(missing)} of the model's arrays are missing ({few(missing)})" if missing else "",
             f"{len(reshaped)} arrays of another shape ({few(reshaped)}: file "
             f"{stored[reshaped[0]]}, model {expected[reshaped[0]]})" if reshaped else ""]
    raise ValueError(f"Preset weights {str(weights)!r} do not match the model its {CONFIG_FILE} builds: "
                     + "; ".join(p for p in parts if p) + ".")


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
        if cls.preset_folder is None:
            return {}
        return list_presets(presets_root() / cls.preset_folder)

    @classmethod
    def preset_path(cls, preset):
        """The folder of `preset`, a built-in name or a folder path."""
        return resolve_preset(preset, cls.presets, presets_root() / (cls.preset_folder or ""), cls.__name__)

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
        model = load_preset_model(folder, cls)
        model.preset_metadata = read_metadata(folder)
        return model

    def save_to_preset(self, folder, metadata=None, overwrite=False):
        """Writes `config.json`, `model.weights.h5` and `metadata.json` to `folder`.

        The files are written to a temporary folder next to `folder`, which then
        takes its place atomically: an interrupted save leaves nothing half-written,
        and an overwrite replaces only a preset folder.

        Args:
            folder: the preset folder to create.
            metadata: dict merged into the metadata (the command that trained the
                model, its data and split, its evaluation scores).
            overwrite: replace an existing preset folder. Defaults to `False`.
        """
        return write_preset(self, folder, type(self).__name__, metadata, overwrite, serving=self)


def check_preset_target(folder, overwrite=False):
    """Raises a `ValueError` unless `write_preset(..., folder, overwrite)` could write `folder`."""
    check_folder_target(folder, overwrite, is_preset_folder, what="preset folder")


def write_preset(model, folder, application, metadata=None, overwrite=False, serving=None):
    """Writes `model` as a preset folder: `config.json`, `model.weights.h5`, `metadata.json`, `serving/1/`.

    Atomic (`kzoo.files.atomic_folder`): the files go to a temporary folder that then
    takes `folder`'s place; with `overwrite=True` only a preset folder
    (`is_preset_folder`) is ever replaced.

    Args:
        model: a Keras model (serialisable with `keras.saving.serialize_keras_object`).
        folder: the preset folder to create.
        application: the name recorded as `"application"` in the metadata.
        metadata: dict merged into the metadata.
        overwrite: replace an existing preset folder. Defaults to `False`.
        serving: the application to export as `serving/1/` (`kzoo.export.export_serving`:
            a TF Serving `model_base_path` of `<folder>/serving`), or `None` for none.
    """
    import tensorflow as tf

    import kzoo

    folder = Path(folder)
    with atomic_folder(folder, overwrite, is_preset_folder, what="preset folder") as tmp:
        tmp = Path(tmp)
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
        if serving is not None:
            from kzoo.export import export_serving

            export_serving(serving, tmp / SERVING_FOLDER, version=1)
    return folder
