"""TAFE-Net (Wang et al., CVPR 2019): task-aware feature embeddings for zero-shot and compositional learning.

- `model`: `TAFENet`, the meta-learner that generates a classifier's weights
  from a task description (Sects. 3.1-3.3).
- `dynamic`: `DynamicTAFENet`, input-dependent dynamic filters (Sects. 3.4 / 4.4).
- `recipe`: the training and evaluation recipe behind `kzoo fit tafenet` and
  `kzoo evaluate tafenet/...`.

>>> from kzoo.applications.tafenet import TAFENet
>>> sorted(TAFENet.presets)
['glyphs_composition_onehot', 'glyphs_gzsl']
"""

from kzoo.applications.tafenet.dynamic import DynamicTAFENet
from kzoo.applications.tafenet.model import TAFENet, embedding_loss, support_prototypes

__all__ = ["DynamicTAFENet", "TAFENet", "embedding_loss", "support_prototypes"]
