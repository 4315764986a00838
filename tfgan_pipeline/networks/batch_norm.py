"""BatchNormalization whose training step is one fused kernel each way.

Paper: Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by
Reducing Internal Covariate Shift", ICML 2015, Alg. 1 (normalise with the
mini-batch mean and biased variance, scale and shift) and Alg. 2 (moving
averages for inference).

Keras 3's ``BatchNormalization`` computes Alg. 1 from separate TensorFlow ops: with
``synchronized=True`` (the default of :func:`tfgan_pipeline.networks.unet.norm_layer`,
so that ``MirroredStrategy`` normalises over the global batch) the moments are
``E[x^2] - E[x]^2`` from three full-size reductions, a ``Square`` and a tensor of
ones, then ``tf.nn.batch_normalization`` adds four more elementwise passes, and the
backward pass mirrors all of them. In pix2pix's 256x256 batch-1 step that was
~9% of the op time (BUILD.md "Performance"). TensorFlow's ``FusedBatchNormV3`` (and
its gradient ``FusedBatchNormGradV3``; oneDNN kernels on CPU) compute the same
normalisation in one pass each way.

:class:`FusedBatchNormalization` is a ``keras.layers.BatchNormalization`` (same
arguments, variables, checkpoint layout, ``isinstance``) that takes the fused
kernel whenever it computes exactly what Keras would:

* training (``training=True`` and a trainable layer), 4-D inputs, channels-last,
  no mask, no renorm, ``center`` and ``scale`` on, TensorFlow backend;
* not a synchronised layer running under a strategy with more than one replica in
  sync (there the statistics must be all-reduced: Keras' own path is kept).

Inputs are normalised in float32, as Keras does: Keras casts bf16/fp16 inputs up and
the output back to the compute dtype; the fused kernel takes bf16/fp16 tensors
directly (``T``) and computes its statistics and normalisation in float32 (``U``), so
the casts are left out (:func:`kernel_input`). Measured on a 2-core AMX Xeon, bf16 in
and out gave the same bits as cast-up, normalise, cast-down, in half the time. The
kernel returns the Bessel-corrected batch variance; the moving variance is updated
with the biased one, like Keras (``var * (n - 1) / n`` with ``n`` the values per
channel). Inference (``training=False``) and every other case use Keras'
implementation unchanged.
``tests/networks/test_batch_norm.py`` checks outputs, gradients and moving
statistics against Keras' layer and a NumPy reference.
"""

import keras
import tensorflow as tf


#: Input dtypes ``FusedBatchNormV3`` takes as they are (it computes in float32 for each).
KERNEL_DTYPES = (tf.float32, tf.bfloat16, tf.float16)


def kernel_input(inputs):
    """``inputs`` as the fused kernel's ``x``: float32, bf16 and fp16 as they are (the
    kernel normalises in float32 and returns ``x``'s dtype), anything else cast to
    float32."""
    return inputs if inputs.dtype in KERNEL_DTYPES else tf.cast(inputs, tf.float32)


@keras.saving.register_keras_serializable(package="tfgan_pipeline")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` with a fused training kernel; see the module."""

    def _fusable(self, inputs, training, mask):
        if not (training and self.trainable) or mask is not None or self.renorm:
            return False
        if keras.backend.backend() != "tensorflow" or not (self.center and self.scale):
            return False
        if len(inputs.shape) != 4 or self.axis not in (-1, 3):
            return False
        if self.synchronized and tf.distribute.has_strategy():
            if tf.distribute.get_strategy().num_replicas_in_sync > 1:
                return False
        return True

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        x = kernel_input(inputs)
        empty = tf.constant([], tf.float32)
        y, mean, unbiased, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=tf.cast(self.gamma, tf.float32), offset=tf.cast(self.beta, tf.float32),
            mean=empty, variance=empty, epsilon=float(self.epsilon),
            exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
        shape = tf.shape(x)
        n = tf.cast(shape[0] * shape[1] * shape[2], tf.float32)
        # The biased variance (what Keras averages); one value per channel: 0.
        variance = tf.where(n > 1.0, unbiased * ((n - 1.0) / tf.maximum(n, 1.0)),
                            tf.zeros_like(unbiased))
        momentum = self.momentum
        self.moving_mean.assign(
            tf.cast(self.moving_mean, tf.float32) * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(
            tf.cast(self.moving_variance, tf.float32) * momentum + variance * (1.0 - momentum))
        return tf.cast(y, self.compute_dtype)
