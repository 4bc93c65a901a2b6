"""Task2Vec and Model2Vec (Achille et al., ICCV 2019): embed tasks, compare them, select experts.

- `fisher`: `FisherProbe`, the per-filter Fisher information of a frozen probe
  (Monte Carlo, expected and variational estimators, Sect. 3.1).
- `embedding`: `TaskEmbedding` and the distances `d_sym`, `d_asym` (Sect. 3.3).
- `model`: `Task2Vec`, the application (a probe preset + an estimator).
- `model2vec`: `Model2Vec`, expert selection (Sect. 3.4).
- `probe`: the built-in probe network, its glyph training split and its presets.
- `plots`: clustered distance matrices and 2-D maps (Figs. 1-2).

>>> from kzoo.applications.task2vec import Task2Vec, d_sym
>>> sorted(Task2Vec.presets)
['probe_glyphs_resnet']
"""

from kzoo.applications.task2vec.embedding import TaskEmbedding, d_asym, d_sym, distance_matrix
from kzoo.applications.task2vec.fisher import FisherProbe
from kzoo.applications.task2vec.model import Task2Vec
from kzoo.applications.task2vec.model2vec import Model2Vec, soft_labels
from kzoo.applications.task2vec.plots import plot_distance_matrix, plot_embedding_2d
from kzoo.applications.task2vec.probe import (HELD_OUT_SCRIPTS, PROBE_PRESET_REPLAY, glyph_probe_split,
                                              load_probe_preset, probe_presets, probe_resnet, save_probe_preset)

__all__ = ["FisherProbe", "HELD_OUT_SCRIPTS", "Model2Vec", "PROBE_PRESET_REPLAY", "Task2Vec", "TaskEmbedding",
           "d_asym", "d_sym", "distance_matrix", "glyph_probe_split", "load_probe_preset", "plot_distance_matrix",
           "plot_embedding_2d", "probe_presets", "probe_resnet", "save_probe_preset", "soft_labels"]
