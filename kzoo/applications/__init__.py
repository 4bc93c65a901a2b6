"""The kzoo applications: few-shot models that all speak the episode contract.

>>> from kzoo.applications import MTNet, ProtoNet
"""

from kzoo.applications.amaz import AMAZ
from kzoo.applications.episodic_model import EpisodicModel
from kzoo.applications.hypertransformer import HyperTransformer
from kzoo.applications.mtnet import MTNet
from kzoo.applications.protonet import ProtoNet
from kzoo.applications.tafenet import TAFENet
from kzoo.applications.tafenet_dynamic import DynamicTAFENet
from kzoo.applications.model2vec import Model2Vec
from kzoo.applications.task2vec import Task2Vec, TaskEmbedding, d_asym, d_sym

#: command-line names of the applications
APPLICATIONS = {"mtnet": MTNet, "protonet": ProtoNet}
APPLICATIONS["hypertransformer"] = HyperTransformer

__all__ = ["APPLICATIONS", "EpisodicModel", "MTNet", "ProtoNet"]
__all__ += ["HyperTransformer"]
# AMAZ is zero-shot (class attributes -> features), not an episode-contract classifier: it is not in
# APPLICATIONS (the few-shot CLI and preset replay); applications/amaz/ has its own scripts and tests.
__all__ += ["AMAZ"]
# Task2Vec/Model2Vec embed tasks and select experts; they are not episode-contract classifiers.
__all__ += ["Model2Vec", "Task2Vec", "TaskEmbedding", "d_asym", "d_sym"]
# TAFENet scores (features, class task) pairs (zero-shot); its presets are replayed by
# tests/test_presets.py::test_tafenet_preset_reproduces_its_recorded_scores, not via APPLICATIONS.
__all__ += ["DynamicTAFENet", "TAFENet"]
