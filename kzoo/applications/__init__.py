"""The kzoo applications, each loadable from a preset and servable.

Few-shot classifiers and regressors that speak the episode contract
(`ProtoNet`, `MTNet`, `HyperTransformer`), zero-shot models (`TAFENet` scores
(features, class description) pairs; `AMAZ` synthesises features of unseen
classes) and task embeddings (`Task2Vec`, with `Model2Vec` for expert selection).

>>> from kzoo.applications import APPLICATIONS, from_preset
>>> sorted(APPLICATIONS)
['amaz', 'hypertransformer', 'mtnet', 'protonet', 'tafenet', 'task2vec']
>>> type(from_preset("protonet/omniglot_20way_1shot")).__name__
'ProtoNet'
"""

import os

from kzoo.applications.amaz import AMAZ
from kzoo.applications.episodic_model import EpisodicModel
from kzoo.applications.hypertransformer import HyperTransformer
from kzoo.applications.mtnet import MTNet
from kzoo.applications.protonet import ProtoNet
from kzoo.applications.tafenet import DynamicTAFENet, TAFENet
from kzoo.applications.task2vec import Model2Vec, Task2Vec, TaskEmbedding, d_asym, d_sym

#: command-line names of the applications (`kzoo fit NAME`, presets as `NAME/PRESET`)
APPLICATIONS = {"protonet": ProtoNet, "mtnet": MTNet, "hypertransformer": HyperTransformer,
                "tafenet": TAFENet, "amaz": AMAZ, "task2vec": Task2Vec}
#: what each application learns from, which decides its data, training and metrics
FAMILIES = {"protonet": "few_shot", "mtnet": "few_shot", "hypertransformer": "few_shot",
            "tafenet": "zero_shot", "amaz": "zero_shot", "task2vec": "task_embedding"}


def application(name):
    """The application class of a command-line name (`"protonet"`), case-insensitively."""
    if not isinstance(name, str) or name.lower() not in APPLICATIONS:
        raise ValueError(f"Unknown application {name!r}. Known: {', '.join(sorted(APPLICATIONS))}.")
    return APPLICATIONS[name.lower()]


def from_preset(spec):
    """Loads any application's preset: `"APPLICATION/NAME"` (see `kzoo list`) or a preset folder.

    A folder names its application in its `metadata.json`.
    """
    from kzoo.presets import read_metadata

    if os.path.isdir(spec):
        name = read_metadata(spec).get("application", "")
        for cls in APPLICATIONS.values():
            if cls.__name__ == name:
                return cls.from_preset(spec)
        raise ValueError(f"Expected a preset folder whose metadata.json names a kzoo application "
                         f"({', '.join(c.__name__ for c in APPLICATIONS.values())}). Received: {spec!r} "
                         f"naming {name!r}.")
    app, _, preset = str(spec).partition("/")
    if not preset:
        raise ValueError(f"Expected a preset as APPLICATION/NAME (see `kzoo list`) or a folder. Received: {spec!r}.")
    return application(app).from_preset(preset)


__all__ = ["AMAZ", "APPLICATIONS", "DynamicTAFENet", "EpisodicModel", "FAMILIES", "HyperTransformer", "MTNet",
           "Model2Vec", "ProtoNet", "TAFENet", "Task2Vec", "TaskEmbedding", "application", "d_asym", "d_sym",
           "from_preset"]
