"""Building blocks of the kzoo applications."""

from kzoo.layers.batch_stat_normalization import BatchStatNormalization
from kzoo.layers.conv_backbone import ConvBackbone
from kzoo.layers.masked_transform_cell import MaskedTransformCell

__all__ = ["BatchStatNormalization", "ConvBackbone", "MaskedTransformCell"]
