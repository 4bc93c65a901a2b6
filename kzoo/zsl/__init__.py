"""Zero-shot data: the Xian et al. GZSL benchmark format, a built-in compositional
glyph set, and the GZSL / composition metrics.

>>> from kzoo import zsl
>>> data = zsl.glyph_compositions()            # built in, no download  # doctest: +SKIP
>>> x, y = data.split("trainval")              # features [n, D], labels over all classes  # doctest: +SKIP
>>> awa2 = zsl.load_xlsa17("xlsa17/data/AWA2")  # res101.mat + att_splits.mat  # doctest: +SKIP
"""

from kzoo.zsl.backbone import save_glyph_backbone
from kzoo.zsl.baselines import ESZSL, Bilinear
from kzoo.zsl.clswgan import CLSWGAN
from kzoo.zsl.compositional import composition_tasks, glyph_compositions
from kzoo.zsl.dataset import SPLITS, ZeroShotData, statistics_table
from kzoo.metrics import (average_precision, gzsl_scores, harmonic_mean, mean_average_precision,
                              per_class_accuracy, top_k_accuracy)
from kzoo.zsl.validation import calibrated_predictions, choose_calibration, held_out_classes, validation_data
from kzoo.zsl.xlsa17 import load_xlsa17, save_xlsa17

__all__ = [
    "Bilinear", "CLSWGAN", "ESZSL", "SPLITS", "ZeroShotData", "average_precision", "composition_tasks", "glyph_compositions", "save_glyph_backbone",
    "gzsl_scores", "harmonic_mean", "load_xlsa17", "mean_average_precision", "per_class_accuracy",
    "save_xlsa17", "statistics_table", "top_k_accuracy", "calibrated_predictions", "choose_calibration",
    "held_out_classes", "validation_data",
]
