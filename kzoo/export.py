"""Serving export: a TF Serving `<directory>/<version>/` SavedModel of one episode pass.

The `serving_default` signature takes `support_x` (float32), `support_y` (int32 for
classifiers) and `query_x` (float32) with unknown task, support and query sizes, and
returns named outputs (`logits` and `probabilities` for classifiers). The SavedModel
needs only TensorFlow: no kzoo import at serving time.

The signature declares dtypes only; shapes are checked inside the graph, so every
caller (TF Serving included, which does not check fed shapes) gets an error naming the
input: "Shape of tensor support_x [2,8,20,28,1] is not compatible with expected shape
[?,?,28,28,1]". A wrong dtype is named by the restored function
(`served.serving_default(...)`); `served.signatures["serving_default"]` reports it by
input index (inputs sorted by name: query_x, support_x, support_y).
"""

from pathlib import Path

import keras

from kzoo.checks import check_int
from kzoo.files import atomic_folder


def export_serving(model, directory, version=1):
    """Exports `model` for TF Serving as `<directory>/<version>/`.

    The SavedModel is written to a temporary folder inside `directory` and renamed
    into place, so a failed export leaves no partial version behind.

    Args:
        model: a kzoo application: anything with `serving_specs()` and `serve(...)`
            (the episode contract's models, `TAFENet`, `AMAZ`, `Task2Vec`).
        directory: the model's base directory (TF Serving's `model_base_path`).
        version: positive integer version. Defaults to `1`.

    Returns:
        The path of the written version folder.

    Example (a SavedModel call, in a process that need not import kzoo):

    ```python
    served = tf.saved_model.load("export/protonet/1")
    outputs = served.signatures["serving_default"](
        support_x=support_x, support_y=support_y, query_x=query_x)
    outputs["probabilities"]  # [T, Q, N]
    ```
    """
    if not hasattr(model, "serving_specs"):
        raise ValueError(f"Expected a kzoo application. Received: {type(model).__name__}.")
    check_int(version, "version", 1)
    directory = Path(directory)
    target = directory / str(version)
    if target.exists():
        raise ValueError(f"Expected a new export version. Received: {str(target)!r} exists.")
    if isinstance(model, keras.Model) and not model.built:
        model.build(model.episode_shapes())
    directory.mkdir(parents=True, exist_ok=True)

    archive = keras.export.ExportArchive()
    archive.track(getattr(model, "serving_trackable", model))
    archive.add_endpoint("serving_default", model.serve, input_signature=model.serving_specs())
    with atomic_folder(target, what="export version") as tmp:
        archive.write_out(tmp, verbose=False)
    return target
