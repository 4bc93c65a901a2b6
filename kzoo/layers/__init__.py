"""Building blocks of the kzoo applications."""

from kzoo.layers.attribute_modulator import AttributeModulator
from kzoo.layers.batch_stat_normalization import BatchStatNormalization
from kzoo.layers.conv_backbone import ConvBackbone
from kzoo.layers.dense_block import DenseBlock
from kzoo.layers.factorized import FactorizedConv2D, FactorizedDense
from kzoo.layers.fused_batch_norm import fused_batch_norm
from kzoo.layers.masked_transform_cell import MaskedTransformCell
from kzoo.layers.resnet12 import DropBlock, ResNet12
from kzoo.layers.weight_slice_transformer import WeightSliceTransformer

__all__ = ["BatchStatNormalization", "ConvBackbone", "MaskedTransformCell"]
__all__ += ["AttributeModulator", "DenseBlock"]
__all__ += ["WeightSliceTransformer"]
__all__ += ["FactorizedConv2D", "FactorizedDense"]
__all__ += ["fused_batch_norm", "DropBlock", "ResNet12"]
