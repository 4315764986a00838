"""Instance normalisation as one fused kernel each way.

Paper: Ulyanov, Vedaldi & Lempitsky, "Instance Normalization: The Missing Ingredient
for Fast Stylization", 2016, Eq. 2: every example's every channel is normalised
with its own spatial mean and (biased) variance, then scaled and shifted per
channel. CycleGAN (Zhu et al., ICCV 2017, Sec. 4 and appendix 7.2) uses it in both
networks.

Keras 3 has no instance-norm layer; ``GroupNormalization(groups=-1)`` (one group per
channel) computes it from separate TensorFlow ops: a reshape into groups, two
full-size reductions for the moments, a ``Square``, ``Rsqrt`` and three elementwise
passes, with the backward pass mirroring each. In CycleGAN's 256x256 batch-1 step
those ops were 14.7% of the op time (BUILD.md "Performance").

Instance normalisation of ``x`` with shape ``[N, H, W, C]`` is batch normalisation
(training mode: batch statistics, biased variance) of the same values laid out as
``[1, H, W, N*C]``: each example's channels become channels of a batch of one. So
:class:`FusedInstanceNormalization` folds the batch into the channels (a free
reshape at ``N = 1``, a transpose otherwise), runs TensorFlow's ``FusedBatchNormV3``
with ``gamma`` and ``beta`` tiled ``N`` times, and unfolds the result; the gradient
is ``FusedBatchNormGradV3``, and the tiling's gradient sums ``gamma``'s and
``beta``'s over the batch. There are no moving statistics: training and inference
compute the same thing, as in Keras' layer.

It is a ``keras.layers.GroupNormalization`` (same arguments, variables, checkpoint
layout, ``isinstance``) and takes the fused kernel whenever it computes exactly
what Keras would: one group per channel, 4-D channels-last inputs, ``center`` and
``scale`` on, TensorFlow backend; otherwise Keras' implementation runs unchanged.
Inputs are normalised in float32 and the output has the compute dtype, as with
Keras (bf16/fp16 go into the kernel as they are: it computes in float32; see
``networks.batch_norm.kernel_input``). ``tests/networks/test_instance_norm.py`` checks
outputs and gradients against Keras' layer and a NumPy reference, at batch 1 and above
and under two replicas.
"""

import keras
import tensorflow as tf

from tfgan_pipeline.networks.batch_norm import kernel_input


@keras.saving.register_keras_serializable(package="tfgan_pipeline")
class FusedInstanceNormalization(keras.layers.GroupNormalization):
    """Instance norm (``GroupNormalization`` with one group per channel) with a fused
    kernel; see the module."""

    def __init__(self, groups=-1, **kwargs):
        super().__init__(groups=groups, **kwargs)

    def _fusable(self, inputs):
        if keras.backend.backend() != "tensorflow" or not (self.center and self.scale):
            return False
        if len(inputs.shape) != 4 or self.axis not in (-1, 3):
            return False
        return self.groups == inputs.shape[-1]

    def call(self, inputs):
        if not self._fusable(inputs):
            return super().call(inputs)
        x = kernel_input(inputs)
        shape = tf.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        folded = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c])
        empty = tf.constant([], tf.float32)
        y, _, _, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=folded, scale=tf.tile(tf.cast(self.gamma, tf.float32), [n]),
            offset=tf.tile(tf.cast(self.beta, tf.float32), [n]), mean=empty, variance=empty,
            epsilon=float(self.epsilon), exponential_avg_factor=1.0, data_format="NHWC",
            is_training=True)
        y = tf.transpose(tf.reshape(y, [h, w, n, c]), [2, 0, 1, 3])
        return tf.cast(y, self.compute_dtype)
