"""The kzoo applications: few-shot models that all speak the episode contract.

>>> from kzoo.applications import MTNet, ProtoNet
"""

from kzoo.applications.episodic_model import EpisodicModel
from kzoo.applications.mtnet import MTNet
from kzoo.applications.protonet import ProtoNet

#: command-line names of the applications
APPLICATIONS = {"mtnet": MTNet, "protonet": ProtoNet}

__all__ = ["APPLICATIONS", "EpisodicModel", "MTNet", "ProtoNet"]
