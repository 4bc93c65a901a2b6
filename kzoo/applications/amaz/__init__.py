"""AMAZ (Li et al. 2021): attribute-modulated generative meta-learning for zero-shot learning.

>>> from kzoo.applications import AMAZ
>>> from kzoo.applications.amaz import zero_shot_tasks, zsl_scores
"""

from kzoo.applications.amaz.callbacks import SyntheticFeatureProjection
from kzoo.applications.amaz.classifiers import linear_svm, softmax_classifier, train_final_classifiers
from kzoo.applications.amaz.evaluation import gzsl_scores, retrieval_precision, zsl_scores
from kzoo.applications.amaz.losses import attribute_loss, class_weights, gradient_penalty, quality_weights
from kzoo.applications.amaz.meta_training import PHASES
from kzoo.applications.amaz.model import AMAZ
from kzoo.layers.dense_block import DenseBlock
from kzoo.episodes.zero_shot import ZeroShotTaskSampler, zero_shot_tasks

__all__ = ["AMAZ", "DenseBlock", "PHASES", "SyntheticFeatureProjection", "ZeroShotTaskSampler", "attribute_loss",
           "class_weights", "gradient_penalty", "gzsl_scores", "linear_svm", "quality_weights",
           "retrieval_precision", "softmax_classifier", "train_final_classifiers", "zero_shot_tasks", "zsl_scores"]
